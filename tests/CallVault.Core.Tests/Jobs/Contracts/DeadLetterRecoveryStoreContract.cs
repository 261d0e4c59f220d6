using CallVault.Jobs;
using CallVault.Recovery;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IDeadLetterRecoveryStore"/> must do.</summary>
public abstract class DeadLetterRecoveryStoreContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    private static readonly TimeSpan PollLease = TimeSpan.FromMinutes(3);

    private IDeadLetterRecoveryStore Recovery => Store.DeadLetterRecovery;

    /// <summary>Two instances competing for the lease: one wins, the other waits until it expires or is released.</summary>
    [Fact]
    public async Task TryAcquireLease_TwoInstances_OnlyOneHoldsItUntilExpiry()
    {
        var other = Backend.NewInstance(Clock).DeadLetterRecovery;

        var results = await Task.WhenAll(
            Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? Recovery : other).TryAcquireLeaseAsync($"instance-{i}", PollLease, default)));

        Assert.Single(results, r => r);
        var winner = $"instance-{Array.IndexOf(results, true)}";
        Assert.True(await Recovery.TryAcquireLeaseAsync(winner, PollLease, default));
        Assert.False(await other.TryAcquireLeaseAsync("late", PollLease, default));

        Clock.Advance(PollLease - TimeSpan.FromSeconds(1));
        Assert.False(await other.TryAcquireLeaseAsync("late", PollLease, default));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await other.TryAcquireLeaseAsync("late", PollLease, default));
        Assert.False(await Recovery.TryAcquireLeaseAsync(winner, PollLease, default));
    }

    [Fact]
    public async Task ReleaseLease_ByItsOwner_FreesItAtOnce_ByAnotherOwner_ChangesNothing()
    {
        Assert.True(await Recovery.TryAcquireLeaseAsync("a", PollLease, default));

        await Recovery.ReleaseLeaseAsync("b", default);
        Assert.False(await Recovery.TryAcquireLeaseAsync("b", PollLease, default));

        await Recovery.ReleaseLeaseAsync("a", default);
        Assert.True(await Recovery.TryAcquireLeaseAsync("b", PollLease, default));
    }

    /// <summary>A blob is done for the ETag it was read at; a rewritten blob (new ETag) is read again.</summary>
    [Fact]
    public async Task FindDone_MatchesNameAndETag()
    {
        await Recovery.MarkBlobDoneAsync(new DeadLetterBlobProgress { Name = "SUB/2026/3/3/9/a.json", ETag = "\"1\"", EventsRecovered = 2, EventsSkipped = 1, NewChunks = 3 }, default);

        var done = await Recovery.FindDoneAsync(
            [new("SUB/2026/3/3/9/a.json", "\"1\""), new("SUB/2026/3/3/9/b.json", "\"1\"")], default);
        Assert.Equal(["SUB/2026/3/3/9/a.json"], done);
        Assert.Empty(await Recovery.FindDoneAsync([new("SUB/2026/3/3/9/a.json", "\"2\"")], default));

        await Recovery.MarkBlobDoneAsync(new DeadLetterBlobProgress { Name = "SUB/2026/3/3/9/a.json", ETag = "\"2\"", RejectedReason = "not JSON", EventsRejected = 1 }, default);
        Assert.Single(await Recovery.FindDoneAsync([new("SUB/2026/3/3/9/a.json", "\"2\"")], default));
        var listed = Assert.Single(await Recovery.ListBlobsAsync(10, default));
        Assert.Equal(("\"2\"", "not JSON", 1L, 0L, Clock.GetUtcNow()), (listed.ETag, listed.RejectedReason, listed.EventsRejected, listed.EventsRecovered, listed.DoneAt));
    }

    /// <summary>More names than one query holds are all looked up.</summary>
    [Fact]
    public async Task FindDone_ManyBlobs_FindsEveryDoneOne()
    {
        var blobs = Enumerable.Range(0, 450).Select(i => new DeadLetterBlobRef($"S/{i}.json", "e")).ToList();
        foreach (var blob in blobs.Where((_, i) => i % 3 == 0))
        {
            await Recovery.MarkBlobDoneAsync(new DeadLetterBlobProgress { Name = blob.Name, ETag = blob.ETag }, default);
        }

        Assert.Equal(150, (await Recovery.FindDoneAsync(blobs, default)).Count);
    }

    /// <summary>Only chunks the job database does not know are marked, once; the marking shows on the chunk.</summary>
    [Fact]
    public async Task MarkChunks_OnlyUnknownChunks_OnceEach_ShownOnTheChunk()
    {
        await Store.Queue.EnqueueAsync("webhook-event", [Chunk("known")], default);

        var first = await Recovery.MarkChunksAsync([Mark("known"), Mark("new-1"), Mark("gone", DeadLetterChunkOutcome.Lost)], default);
        Assert.Equal(["gone", "new-1"], first.Marked.Select(m => m.DocumentId));
        Assert.Equal((1, 1), (first.Recovered, first.Lost));
        Assert.Empty((await Recovery.MarkChunksAsync([Mark("new-1"), Mark("gone", DeadLetterChunkOutcome.Lost)], default)).Marked);

        await Store.Queue.EnqueueAsync("dead-letter-event", [Chunk("new-1")], default);
        var details = await Store.Recordings.GetRecordingAsync("rec-1", default);
        Assert.Null(details!.Chunks.Single(c => c.Request.DocumentId == "known").DeadLetter);
        Assert.Equal(
            new ChunkDeadLetterOrigin(DeadLetterChunkOutcome.Recovered, Clock.GetUtcNow(), "SUB/blob.json"),
            details.Chunks.Single(c => c.Request.DocumentId == "new-1").DeadLetter);

        var lost = Assert.Single(await Recovery.ListChunksAsync(DeadLetterChunkOutcome.Lost, 10, default));
        Assert.Equal(("gone", "rec-1", "call-rec-1", "ev-gone", Mark("gone").AcsExpiresAt), (lost.DocumentId, lost.RecordingId, lost.CallId, lost.EventId, lost.AcsExpiresAt));
        Assert.Equal(1, await Recovery.CountChunksAsync(DeadLetterChunkOutcome.Lost, default));
        Assert.Equal(1, await Recovery.CountChunksAsync(DeadLetterChunkOutcome.Recovered, default));
    }

    /// <summary>Two instances marking the same chunks at once mark each once and neither fails.</summary>
    [Fact]
    public async Task MarkChunks_ConcurrentlyFromTwoInstances_MarksEachOnce()
    {
        var other = Backend.NewInstance(Clock).DeadLetterRecovery;
        var marks = Enumerable.Range(0, 20).Select(i => Mark($"d{i:00}")).ToList();

        var results = await Task.WhenAll(
            Recovery.MarkChunksAsync(marks, default),
            other.MarkChunksAsync([.. Enumerable.Reverse(marks)], default));

        Assert.Equal(20, results.Sum(r => r.Recovered));
        Assert.Equal(20, await Recovery.CountChunksAsync(DeadLetterChunkOutcome.Recovered, default));
    }

    private DeadLetterChunkMark Mark(string documentId, DeadLetterChunkOutcome outcome = DeadLetterChunkOutcome.Recovered) => new()
    {
        DocumentId = documentId,
        Outcome = outcome,
        RecordingKey = "rec-1",
        RecordingId = "rec-1",
        CallId = "call-rec-1",
        EventId = "ev-" + documentId,
        EventTime = new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero),
        AcsExpiresAt = new DateTimeOffset(2026, 3, 4, 9, 0, 0, TimeSpan.Zero),
        BlobName = "SUB/blob.json",
    };
}

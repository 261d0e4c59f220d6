using CallVault.Jobs;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IChunkTransitions"/> must do.</summary>
public abstract class ChunkTransitionsContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    /// <summary>A worker whose lease expired and was taken cannot write anything: every write is fenced by its token.</summary>
    [Fact]
    public async Task StaleLease_ProgressCompleteFailAndRelease_ThrowAndChangeNothing()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var stale = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var current = (await Store.Queue.TryLeaseAsync("b", Lease, default))!;
        var before = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;

        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Transitions.RecordProgressAsync(stale, new ChunkProgress
        {
            Media = new StoredObjectInfo("stale.wav", 99, "ff", "audio/wav"),
            Metadata = new StoredObjectInfo("stale.json", 9, "ee", "application/json"),
            MetadataJson = """{"participants":[{"participantId":"8:acs:stale","channel":0}]}""",
            Participants = ["8:acs:stale"],
            DeletedFromAcsAt = Clock.GetUtcNow(),
        }, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Transitions.CompleteAsync(stale, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Transitions.FailAsync(stale, "stale failure", retryAt: null, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Transitions.ReleaseAsync(stale, default));

        var after = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;
        Assert.Equal(before.Chunks.Single(), after.Chunks.Single());
        Assert.Equal((before.Summary.StoredBytes, before.Summary.StoredChunks), (after.Summary.StoredBytes, after.Summary.StoredChunks));
        Assert.Empty(after.Summary.Participants);
        Assert.Empty(await Store.Recordings.ListRecordingsAsync(new RecordingQuery { Participant = "8:acs:stale" }, default));
        await Store.Transitions.CompleteAsync(current, default);
    }

    [Fact]
    public async Task Fail_WithRetryTime_IsNotDueBeforeIt()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.Queue.TryLeaseAsync("a", Lease, default);

        await Store.Transitions.FailAsync(lease!, "503 from ACS", Clock.GetUtcNow().AddMinutes(1), default);

        Assert.Null(await Store.Queue.TryLeaseAsync("a", Lease, default));
        Clock.Advance(TimeSpan.FromMinutes(1));
        var again = await Store.Queue.TryLeaseAsync("a", Lease, default);
        Assert.Equal(("503 from ACS", 2), (again!.Job.LastError, again.Job.Attempts));
    }

    [Fact]
    public async Task ProgressAndComplete_AreVisibleInTheRecording()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var lease = await Store.Queue.TryLeaseAsync("a", Lease, default);
        var media = new StoredObjectInfo("2026/03/03/call/rec/chunk-000.wav", 1234, "ab", "audio/wav");

        await Store.Transitions.RecordProgressAsync(lease!, new ChunkProgress { Metadata = new StoredObjectInfo("m.json", 10, "cd", "application/json"), MetadataJson = "{}" }, default);
        await Store.Transitions.RecordProgressAsync(lease!, new ChunkProgress { Media = media }, default);
        await Store.Transitions.CompleteAsync(lease!, default);

        var details = await Store.Recordings.GetRecordingAsync("rec-1", default);
        Assert.Equal(["rec-1"], await Store.Recordings.ListRecentlyStoredRecordingsAsync(Clock.GetUtcNow().AddSeconds(-1), default));
        Assert.Empty(await Store.Recordings.ListRecentlyStoredRecordingsAsync(Clock.GetUtcNow().AddSeconds(1), default));
        var stored = details!.Chunks.Single(c => c.Request.DocumentId == "d1");
        Assert.Equal((ChunkState.Stored, media, "{}"), (stored.State, stored.Media, stored.MetadataJson));
        Assert.Equal((2, 1, 1234L, "partial"), (details.Summary.Chunks, details.Summary.StoredChunks, details.Summary.StoredBytes, details.Summary.Status));
    }

    /// <summary>
    /// The worker's one commit per chunk: media, metadata and participants recorded in the same transition that marks
    /// the chunk stored, with the recording's stored bytes counting the media it records.
    /// </summary>
    [Fact]
    public async Task CompleteWithProgress_RecordsEverythingAndMarksStoredInOneTransition()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var lease = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        var media = new StoredObjectInfo("2026/03/03/call/rec/chunk-000.wav", 1234, "ab", "audio/wav");
        var metadata = new StoredObjectInfo("2026/03/03/call/rec/chunk-000.metadata.json", 10, "cd", "application/json");

        await Store.Transitions.CompleteAsync(lease, new ChunkProgress { Media = media, Metadata = metadata, MetadataJson = "{}", Participants = ["8:acs:agent"] }, "a note", default);

        var details = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;
        var stored = details.Chunks.Single(c => c.Request.DocumentId == "d1");
        Assert.Equal((ChunkState.Stored, media, metadata, "{}", "a note"), (stored.State, stored.Media, stored.Metadata, stored.MetadataJson, stored.LastError));
        Assert.Equal((1, 1234L, "partial"), (details.Summary.StoredChunks, details.Summary.StoredBytes, details.Summary.Status));
        Assert.Equal(["8:acs:agent"], details.Summary.Participants);
        Assert.Single(await Store.Recordings.ListRecordingsAsync(new RecordingQuery { Participant = "8:acs:agent" }, default));
        Assert.NotNull(await Store.Queue.TryLeaseAsync("b", Lease, default));
        Assert.Null(await Store.Queue.TryLeaseAsync("b", Lease, default));
    }

    /// <summary>Steps recorded earlier are kept when the completion records nothing more (an empty progress).</summary>
    [Fact]
    public async Task CompleteWithEmptyProgress_KeepsWhatWasRecordedBefore()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        var media = new StoredObjectInfo("2026/03/03/call/rec/chunk-000.wav", 99, "ab", "audio/wav");
        await Store.Transitions.RecordProgressAsync(lease, new ChunkProgress { Media = media }, default);

        await Store.Transitions.CompleteAsync(lease, new ChunkProgress(), note: null, default);

        var details = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;
        Assert.Equal((ChunkState.Stored, media), (details.Chunks.Single().State, details.Chunks.Single().Media));
        Assert.Equal((99L, "stored"), (details.Summary.StoredBytes, details.Summary.Status));
    }

    /// <summary>A stale lease's merged completion is fenced like every other write: nothing of it lands.</summary>
    [Fact]
    public async Task StaleLease_CompleteWithProgress_ThrowsAndChangesNothing()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var stale = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var current = (await Store.Queue.TryLeaseAsync("b", Lease, default))!;
        var before = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;

        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Transitions.CompleteAsync(stale, new ChunkProgress
        {
            Media = new StoredObjectInfo("stale.wav", 99, "ff", "audio/wav"),
            Participants = ["8:acs:stale"],
        }, note: null, default));

        var after = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;
        Assert.Equal(before.Chunks.Single(), after.Chunks.Single());
        Assert.Equal((0L, 0), (after.Summary.StoredBytes, after.Summary.StoredChunks));
        Assert.Empty(after.Summary.Participants);
        await Store.Transitions.CompleteAsync(current, default);
    }

    /// <summary>
    /// A worker in a backlog completes its chunk and takes the next one in one commit: the completion is recorded as
    /// with <c>CompleteAsync</c>, the oldest due chunk is leased to the same owner (attempt counted, no other owner
    /// gets it), and with nothing due the completion still lands and no lease is returned.
    /// </summary>
    [Fact]
    public async Task CompleteAndLeaseNext_RecordsTheCompletionAndLeasesTheOldestDueChunk()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1", eventTime: Clock.GetUtcNow().AddMinutes(-3))], default);
        await Store.Queue.EnqueueAsync("e2", [Chunk("d3", "rec-3", eventTime: Clock.GetUtcNow().AddMinutes(-1))], default);
        await Store.Queue.EnqueueAsync("e3", [Chunk("d2", "rec-2", eventTime: Clock.GetUtcNow().AddMinutes(-2))], default);
        var first = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        var media = new StoredObjectInfo("2026/03/03/call/rec/chunk-000.wav", 1234, "ab", "audio/wav");

        var second = await Store.Transitions.CompleteAndLeaseNextAsync(first, new ChunkProgress { Media = media, Participants = ["8:acs:agent"] }, "a note", "a", Lease, default);

        Assert.NotNull(second);
        Assert.Equal(("d2", "a", 1, ChunkState.Leased), (second.DocumentId, second.Owner, second.Job.Attempts, second.Job.State));
        var stored = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;
        Assert.Equal((ChunkState.Stored, media, "a note"), (stored.Chunks.Single().State, stored.Chunks.Single().Media, stored.Chunks.Single().LastError));
        Assert.Equal(1234L, stored.Summary.StoredBytes);
        Assert.Equal(["8:acs:agent"], stored.Summary.Participants);
        Assert.Equal(ChunkState.Leased, (await Store.Recordings.GetRecordingAsync("rec-2", default))!.Chunks.Single().State);

        var third = (await Store.Queue.TryLeaseAsync("b", Lease, default))!;
        Assert.Equal("d3", third.DocumentId);
        Assert.Null(await Store.Transitions.CompleteAndLeaseNextAsync(second, new ChunkProgress(), note: null, "a", Lease, default));
        Assert.Equal(ChunkState.Stored, (await Store.Recordings.GetRecordingAsync("rec-2", default))!.Chunks.Single().State);

        // The lease it returned fences writes like any other.
        await Store.Transitions.CompleteAsync(third, default);
        Assert.Null(await Store.Queue.TryLeaseAsync("b", Lease, default));
    }

    /// <summary>A stale lease's completion fails whole: nothing is recorded and no chunk is leased by it.</summary>
    [Fact]
    public async Task StaleLease_CompleteAndLeaseNext_ThrowsAndLeasesNothing()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var stale = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var current = (await Store.Queue.TryLeaseAsync("b", Lease, default))!;
        await Store.Queue.EnqueueAsync("e2", [Chunk("d2", "rec-2")], default);
        var before = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;

        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Transitions.CompleteAndLeaseNextAsync(stale, new ChunkProgress
        {
            Media = new StoredObjectInfo("stale.wav", 99, "ff", "audio/wav"),
        }, note: null, "a", Lease, default));

        var after = (await Store.Recordings.GetRecordingAsync("rec-1", default))!;
        Assert.Equal(before.Chunks.Single(), after.Chunks.Single());
        var pending = (await Store.Recordings.GetRecordingAsync("rec-2", default))!.Chunks.Single();
        Assert.Equal((ChunkState.Pending, 0), (pending.State, pending.Attempts));
        Assert.Equal("d2", (await Store.Queue.TryLeaseAsync("c", Lease, default))!.DocumentId);
        await Store.Transitions.CompleteAsync(current, default);
    }

    [Fact]
    public async Task Release_MakesTheChunkDueAtOnceWithoutCountingTheAttempt()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.Queue.TryLeaseAsync("a", Lease, default);

        await Store.Transitions.ReleaseAsync(lease!, default);

        Assert.Equal(1, (await Store.Queue.TryLeaseAsync("b", Lease, default))!.Job.Attempts);
    }

    /// <summary>The store keeps the metadata JSON as it is: participants come from the caller, not from parsing it.</summary>
    [Fact]
    public async Task RecordProgress_ParticipantsComeFromTheCallerNotTheMetadata()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;

        await Store.Transitions.RecordProgressAsync(lease, new ChunkProgress
        {
            MetadataJson = """{"participants":[{"participantId":"8:acs:in-json","channel":0}]}""",
            Participants = ["4:+14255550123", " ", "4:+14255550123"],
        }, default);

        var summary = (await Store.Recordings.GetRecordingAsync("rec-1", default))!.Summary;
        Assert.Equal(["4:+14255550123"], summary.Participants);
        Assert.Empty(await Store.Recordings.ListRecordingsAsync(new RecordingQuery { Participant = "8:acs:in-json" }, default));
    }

    /// <summary>A chunk stored with something left undone on purpose keeps the note; a plain completion clears the last error.</summary>
    [Fact]
    public async Task Complete_WithNote_KeepsItAsTheLastError()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var first = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        var second = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;

        await Store.Transitions.CompleteAsync(first, "not deleted from ACS", default);
        await Store.Transitions.FailAsync(second, "503", Clock.GetUtcNow(), default);
        await Store.Transitions.CompleteAsync((await Store.Queue.TryLeaseAsync("a", Lease, default))!, default);

        var chunks = (await Store.Recordings.GetRecordingAsync("rec-1", default))!.Chunks;
        Assert.Equal(new (ChunkState, string?)[] { (ChunkState.Stored, "not deleted from ACS"), (ChunkState.Stored, null) }, chunks.Select(c => (c.State, c.LastError)));
    }

    /// <summary>Workers on different chunks of one recording store metadata with different participants at once: none is lost.</summary>
    [Fact]
    public async Task ConcurrentProgress_OnOneRecording_KeepsEveryParticipant()
    {
        var instances = new[] { Store, Backend.NewInstance(Clock), Backend.NewInstance(Clock), Backend.NewInstance(Clock) };
        for (var round = 0; round < 15; round++)
        {
            var recording = $"rec-{round}";
            await Store.Queue.EnqueueAsync("e" + round, [.. Enumerable.Range(0, 8).Select(i => Chunk($"{recording}-d{i}", recording, i))], default);
            var leases = new List<(IJobStore Store, ChunkLease Lease)>();
            for (var i = 0; i < 8; i++)
            {
                var store = instances[i % instances.Length];
                leases.Add((store, (await store.Queue.TryLeaseAsync("w" + i, TimeSpan.FromMinutes(2), default))!));
            }

            await Task.WhenAll(leases.Select((l, i) => Task.Run(() => l.Store.Transitions.RecordProgressAsync(l.Lease, new ChunkProgress
            {
                Participants = ["8:acs:p" + i],
            }, default))));

            var found = (await Store.Recordings.GetRecordingAsync(recording, default))!.Summary.Participants;
            Assert.Equal(Enumerable.Range(0, 8).Select(i => "8:acs:p" + i).Order(), found.Order());
        }
    }
}

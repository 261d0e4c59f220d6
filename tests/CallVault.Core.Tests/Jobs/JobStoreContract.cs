using System.Collections.Concurrent;
using CallVault.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IJobStore"/> must do. One subclass per backend overrides only <see cref="CreateStoreAsync"/>.</summary>
public abstract class JobStoreContract : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero));

    protected IJobStore Store { get; private set; } = null!;

    /// <summary>A new, empty store using <paramref name="clock"/>.</summary>
    protected abstract Task<IJobStore> CreateStoreAsync(TimeProvider clock);

    public virtual async Task InitializeAsync()
    {
        Store = await CreateStoreAsync(Clock);
        await Store.InitializeAsync(CancellationToken.None);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static ChunkRequest Chunk(string documentId, string recording = "rec-1", long index = 0, DateTimeOffset? eventTime = null, Uri? content = null) => new()
    {
        DocumentId = documentId,
        Recording = new RecordingInfo { Key = recording, RecordingId = recording, CallId = "call-" + recording, FormatType = "Wav" },
        Index = index,
        EndReason = "SessionEnded",
        ContentLocation = content ?? new Uri($"https://storage.asm.skype.com/v1/objects/{documentId}/content/audio"),
        MetadataLocation = content is null ? new Uri($"https://storage.asm.skype.com/v1/objects/{documentId}/content/acsmetadata") : null,
        EventTime = eventTime ?? new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public async Task Enqueue_ThenLease_GivesTheOldestEventFirst()
    {
        await Store.EnqueueAsync("e1", [Chunk("new", eventTime: Clock.GetUtcNow().AddMinutes(-1))], default);
        await Store.EnqueueAsync("e2", [Chunk("old", eventTime: Clock.GetUtcNow().AddHours(-5))], default);

        var first = await Store.TryLeaseAsync("w", Lease, default);
        var second = await Store.TryLeaseAsync("w", Lease, default);

        Assert.Equal(["old", "new"], [first!.DocumentId, second!.DocumentId]);
        Assert.Null(await Store.TryLeaseAsync("w", Lease, default));
    }

    [Fact]
    public async Task Enqueue_SameEventOrSameDocumentAgain_ChangesNothing()
    {
        var first = await Store.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var again = await Store.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var other = await Store.EnqueueAsync("e2", [Chunk("d2", index: 1)], default);

        Assert.Equal((2, 0), (first.NewChunks, first.DuplicateEvents));
        Assert.Equal((0, 1), (again.NewChunks, again.DuplicateEvents));
        Assert.Equal((0, 0), (other.NewChunks, other.DuplicateEvents));
        Assert.Equal(2, (await Store.GetRecordingAsync("rec-1", default))!.Chunks.Count);
    }

    [Fact]
    public async Task Enqueue_PreviewThenGaEvent_FillsInTheLocations()
    {
        var preview = Chunk("d1") with { ContentLocation = null, MetadataLocation = null };
        await Store.EnqueueAsync("e1", [preview], default);

        await Store.EnqueueAsync("e2", [Chunk("d1")], default);

        var job = (await Store.GetRecordingAsync("rec-1", default))!.Chunks.Single();
        Assert.Equal(Chunk("d1").ContentLocation, job.Request.ContentLocation);
    }

    [Fact]
    public async Task Lease_IsHeldByOneOwnerUntilItExpires()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.TryLeaseAsync("a", Lease, default);

        Assert.Null(await Store.TryLeaseAsync("b", Lease, default));
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var taken = await Store.TryLeaseAsync("b", Lease, default);

        Assert.Equal("d1", taken!.DocumentId);
        Assert.Equal(2, taken.Job.Attempts);
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.CompleteAsync(lease!, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.RenewLeaseAsync(lease!, Lease, default));
        await Store.CompleteAsync(taken, default);
    }

    /// <summary>A worker whose lease expired and was taken cannot write anything: every write is fenced by its token.</summary>
    [Fact]
    public async Task StaleLease_ProgressCompleteFailAndRelease_ThrowAndChangeNothing()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        var stale = (await Store.TryLeaseAsync("a", Lease, default))!;
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var current = (await Store.TryLeaseAsync("b", Lease, default))!;
        var before = (await Store.GetRecordingAsync("rec-1", default))!;

        await Assert.ThrowsAsync<LeaseLostException>(() => Store.RecordProgressAsync(stale, new ChunkProgress
        {
            Media = new StoredObjectInfo("stale.wav", 99, "ff", "audio/wav"),
            Metadata = new StoredObjectInfo("stale.json", 9, "ee", "application/json"),
            MetadataJson = """{"participants":[{"participantId":"8:acs:stale","channel":0}]}""",
            DeletedFromAcsAt = Clock.GetUtcNow(),
        }, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.CompleteAsync(stale, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.FailAsync(stale, "stale failure", retryAt: null, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.ReleaseAsync(stale, default));

        var after = (await Store.GetRecordingAsync("rec-1", default))!;
        Assert.Equal(before.Chunks.Single(), after.Chunks.Single());
        Assert.Equal((before.Summary.StoredBytes, before.Summary.StoredChunks), (after.Summary.StoredBytes, after.Summary.StoredChunks));
        Assert.Empty(after.Summary.Participants);
        Assert.Empty(await Store.ListRecordingsAsync(new RecordingQuery { Participant = "8:acs:stale" }, default));
        await Store.CompleteAsync(current, default);
    }

    [Fact]
    public async Task RenewLease_KeepsTheChunkFromOthers()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.TryLeaseAsync("a", Lease, default);

        Clock.Advance(Lease / 2);
        await Store.RenewLeaseAsync(lease!, Lease, default);
        Clock.Advance(Lease * 0.9);

        Assert.Null(await Store.TryLeaseAsync("b", Lease, default));
    }

    [Fact]
    public async Task Fail_WithRetryTime_IsNotDueBeforeIt()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.TryLeaseAsync("a", Lease, default);

        await Store.FailAsync(lease!, "503 from ACS", Clock.GetUtcNow().AddMinutes(1), default);

        Assert.Null(await Store.TryLeaseAsync("a", Lease, default));
        Clock.Advance(TimeSpan.FromMinutes(1));
        var again = await Store.TryLeaseAsync("a", Lease, default);
        Assert.Equal(("503 from ACS", 2), (again!.Job.LastError, again.Job.Attempts));
    }

    [Fact]
    public async Task Fail_WithoutRetry_DeadLettersUntilRetriedByHand()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.TryLeaseAsync("a", Lease, default);

        await Store.FailAsync(lease!, "404: gone", retryAt: null, default);

        Clock.Advance(TimeSpan.FromDays(1));
        Assert.Null(await Store.TryLeaseAsync("a", Lease, default));
        var details = await Store.GetRecordingAsync("rec-1", default);
        Assert.Equal((ChunkState.DeadLettered, "404: gone", "failed"), (details!.Chunks[0].State, details.Chunks[0].LastError, details.Summary.Status));
        var deadLetters = await Store.ListChunksAsync(ChunkState.DeadLettered, 10, default);
        Assert.Equal(("d1", "404: gone"), (Assert.Single(deadLetters).Request.DocumentId, deadLetters[0].LastError));
        Assert.True(await Store.RetryDeadLetterAsync("d1", default));
        Assert.False(await Store.RetryDeadLetterAsync("d1", default));
        Assert.Equal("d1", (await Store.TryLeaseAsync("a", Lease, default))!.DocumentId);
    }

    [Fact]
    public async Task ProgressAndComplete_AreVisibleInTheRecording()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var lease = await Store.TryLeaseAsync("a", Lease, default);
        var media = new StoredObjectInfo("2026/03/03/call/rec/chunk-000.wav", 1234, "ab", "audio/wav");

        await Store.RecordProgressAsync(lease!, new ChunkProgress { Metadata = new StoredObjectInfo("m.json", 10, "cd", "application/json"), MetadataJson = "{}" }, default);
        await Store.RecordProgressAsync(lease!, new ChunkProgress { Media = media }, default);
        await Store.CompleteAsync(lease!, default);

        var details = await Store.GetRecordingAsync("rec-1", default);
        Assert.Equal(["rec-1"], await Store.ListRecentlyStoredRecordingsAsync(Clock.GetUtcNow().AddSeconds(-1), default));
        Assert.Empty(await Store.ListRecentlyStoredRecordingsAsync(Clock.GetUtcNow().AddSeconds(1), default));
        var stored = details!.Chunks.Single(c => c.Request.DocumentId == "d1");
        Assert.Equal((ChunkState.Stored, media, "{}"), (stored.State, stored.Media, stored.MetadataJson));
        Assert.Equal((2, 1, 1234L, "partial"), (details.Summary.Chunks, details.Summary.StoredChunks, details.Summary.StoredBytes, details.Summary.Status));
    }

    [Fact]
    public async Task ListRecordings_StatusFilter_FindsExactlyTheRecordingsInThatStatus()
    {
        var now = Clock.GetUtcNow();
        await Store.EnqueueAsync("e1", [Chunk("s0", "stored", eventTime: now.AddMinutes(-50))], default);
        await Store.EnqueueAsync("e2", [Chunk("p0", "partial", eventTime: now.AddMinutes(-40)), Chunk("p1", "partial", 1, now.AddMinutes(-5))], default);
        await Store.EnqueueAsync("e3", [Chunk("f0", "failed", eventTime: now.AddMinutes(-30))], default);
        await Store.EnqueueAsync("e4", [Chunk("d0", "downloading", eventTime: now.AddMinutes(-20))], default);
        await Store.EnqueueAsync("e5", [Chunk("q0", "pending", eventTime: now.AddMinutes(-1))], default);
        await Store.CompleteAsync((await Store.TryLeaseAsync("w", Lease, default))!, default);
        await Store.CompleteAsync((await Store.TryLeaseAsync("w", Lease, default))!, default);
        await Store.FailAsync((await Store.TryLeaseAsync("w", Lease, default))!, "gone", retryAt: null, default);
        Assert.Equal("d0", (await Store.TryLeaseAsync("w", Lease, default))!.DocumentId);

        foreach (var status in new[] { "stored", "partial", "failed", "downloading", "pending" })
        {
            var found = Assert.Single(await Store.ListRecordingsAsync(new RecordingQuery { Status = status, Sort = RecordingSort.Largest }, default));
            Assert.Equal((status, status), (found.Key, found.Status));
        }
    }

    [Fact]
    public async Task Release_MakesTheChunkDueAtOnceWithoutCountingTheAttempt()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.TryLeaseAsync("a", Lease, default);

        await Store.ReleaseAsync(lease!, default);

        Assert.Equal(1, (await Store.TryLeaseAsync("b", Lease, default))!.Job.Attempts);
    }

    [Fact]
    public async Task ListAndStatistics_DescribeTheQueue()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1", "rec-1", eventTime: Clock.GetUtcNow().AddHours(-3))], default);
        Clock.Advance(TimeSpan.FromSeconds(1));
        await Store.EnqueueAsync("e2", [Chunk("d2", "rec-2")], default);

        var recordings = await Store.ListRecordingsAsync(new RecordingQuery(), default);
        var byCall = await Store.ListRecordingsAsync(new RecordingQuery { CallId = "call-rec-1" }, default);
        var statistics = await Store.GetStatisticsAsync(default);

        Assert.Equal(["rec-2", "rec-1"], recordings.Select(r => r.Key));
        Assert.Equal("rec-1", Assert.Single(byCall).Key);
        Assert.Equal(2, statistics.ByState[ChunkState.Pending]);
        Assert.Equal(Clock.GetUtcNow().AddSeconds(-1).AddHours(-3), statistics.OldestPendingEventTime);
        Assert.Equal(Clock.GetUtcNow(), statistics.LastEventReceivedAt);
        Assert.Null(await Store.GetRecordingAsync("nope", default));
    }

    [Fact]
    public async Task ListRecordings_FiltersByStartParticipantAndStatusAndSorts()
    {
        var early = new RecordingInfo { Key = "early", CallId = "c1", StartTime = Clock.GetUtcNow().AddHours(-10), DurationMs = 1000 };
        var late = new RecordingInfo { Key = "late", CallId = "c2", StartTime = Clock.GetUtcNow().AddHours(-1), DurationMs = 9000 };
        await Store.EnqueueAsync("e1", [Chunk("d1") with { Recording = early }], default);
        await Store.EnqueueAsync("e2", [Chunk("d2") with { Recording = late }], default);
        var lease = await Store.TryLeaseAsync("w", Lease, default);
        await Store.RecordProgressAsync(lease!, new ChunkProgress
        {
            Media = new StoredObjectInfo("x.wav", 500, "ab", "audio/wav"),
            MetadataJson = """{"participants":[{"participantId":"4:+14255550123","channel":0},{"participantId":"8:acs:agent","channel":1}]}""",
        }, default);
        await Store.CompleteAsync(lease!, default);

        async Task<string[]> KeysAsync(RecordingQuery query) => [.. (await Store.ListRecordingsAsync(query, default)).Select(r => r.Key)];

        Assert.Equal(["late"], await KeysAsync(new RecordingQuery { From = Clock.GetUtcNow().AddHours(-2) }));
        Assert.Equal(["early"], await KeysAsync(new RecordingQuery { To = Clock.GetUtcNow().AddHours(-2) }));
        foreach (var term in new[] { "4:+14255550123", "+14255550123", "14255550123", " 8:acs:agent ", "acs:agent" })
        {
            Assert.Equal([lease!.Job.Request.Recording.Key], await KeysAsync(new RecordingQuery { Participant = term }));
        }

        Assert.Empty(await KeysAsync(new RecordingQuery { Participant = "+1425555" }));
        Assert.Equal(["late"], await KeysAsync(new RecordingQuery { Skip = 1, Take = 1, Sort = RecordingSort.Oldest }));
        Assert.Equal([lease!.Job.Request.Recording.Key], await KeysAsync(new RecordingQuery { Status = "stored" }));
        Assert.Single(await KeysAsync(new RecordingQuery { Status = "pending" }));
        Assert.Empty(await KeysAsync(new RecordingQuery { Status = "failed" }));
        Assert.Empty(await KeysAsync(new RecordingQuery { Status = "no-such-status" }));
        Assert.Equal(["late", "early"], await KeysAsync(new RecordingQuery { Sort = RecordingSort.Longest }));
        Assert.Equal(lease!.Job.Request.Recording.Key, (await KeysAsync(new RecordingQuery { Sort = RecordingSort.Largest }))[0]);
        Assert.Equal(500, (await Store.ListRecordingsAsync(new RecordingQuery { Sort = RecordingSort.Largest }, default))[0].StoredBytes);
        var stored = (await Store.ListRecordingsAsync(new RecordingQuery { Status = "stored" }, default)).Single();
        Assert.Equal(["4:+14255550123", "8:acs:agent"], stored.Participants);
    }

    /// <summary>Eight workers race for 60 chunks: each chunk is leased exactly once.</summary>
    [Fact]
    public async Task ConcurrentWorkers_NeverLeaseTheSameChunkTwice()
    {
        await Store.EnqueueAsync("e1", [.. Enumerable.Range(0, 60).Select(i => Chunk($"d{i}", index: i))], default);
        var leased = new ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            while (await Store.TryLeaseAsync($"w{w}", Lease, default) is { } lease)
            {
                leased.Add(lease.DocumentId);
                await Store.CompleteAsync(lease, default);
            }
        })));

        Assert.Equal(60, leased.Count);
        Assert.Equal(60, leased.Distinct().Count());
    }

    [Fact]
    public async Task Enqueue_ABatchOfEvents_IsCommittedTogether()
    {
        var result = await Store.EnqueueAsync(
            [.. Enumerable.Range(0, 500).Select(i => new EventChunks($"e{i}", [Chunk($"d{i}", $"rec-{i % 7}")]))],
            default);

        Assert.Equal((500, 0), (result.NewChunks, result.DuplicateEvents));
        Assert.All(result.NewChunksByEvent, n => Assert.Equal(1, n));
        Assert.Equal(7, (await Store.ListRecordingsAsync(new RecordingQuery { Take = 100 }, default)).Count);
        Assert.Equal(500, (await Store.GetStatisticsAsync(default)).ByState[ChunkState.Pending]);
    }

    [Fact]
    public async Task Initialize_Again_KeepsTheData()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);

        await Store.InitializeAsync(default);

        Assert.NotNull(await Store.GetRecordingAsync("rec-1", default));
    }
}

using CallVault.Jobs;
using CallVault.Jobs.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Jobs;

public sealed class GroupCommitEnqueuerTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-group-").FullName;
    private SqliteJobStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteJobStore($"Data Source={Path.Combine(_folder, "jobs.db")}", TimeProvider.System);
        await _store.Schema.InitializeAsync(default);
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private static EventChunks Event(string id, string documentId) => new(id, [new ChunkRequest
    {
        DocumentId = documentId,
        Recording = new RecordingInfo { Key = "rec" },
        EventTime = DateTimeOffset.UnixEpoch,
    }]);

    /// <summary>200 concurrent deliveries: every caller learns its own outcome once its events are committed.</summary>
    [Fact]
    public async Task ConcurrentDeliveries_AreCommittedWithPerCallerOutcomes()
    {
        await using var enqueuer = new GroupCommitEnqueuer(_store.Queue);

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() =>
            enqueuer.EnqueueAsync([Event($"e{i}", $"d{i % 150}")], default))));

        Assert.Equal(150, results.Sum(r => r.NewChunks));
        Assert.All(results, r => Assert.Single(r.NewChunksByEvent));
        Assert.Equal(150, (await _store.Recordings.GetStatisticsAsync(default)).ByState[ChunkState.Pending]);
    }

    [Fact]
    public async Task StoreFailure_ReachesEveryCallerOfTheBatch()
    {
        await using var enqueuer = new GroupCommitEnqueuer(new FailingStore());

        await Assert.ThrowsAsync<InvalidOperationException>(() => enqueuer.EnqueueAsync([Event("e1", "d1")], default));
    }

    /// <summary>
    /// Item 2.2: deliveries merged into one commit, one of which the database refuses. The merged commit fails, so each
    /// delivery is tried alone: the others commit and succeed, and only the culprit sees the failure.
    /// </summary>
    [Fact]
    public async Task MergedCommitFails_EachDeliveryIsRetriedAlone_OnlyTheCulpritFails()
    {
        var store = new ScriptedStore(events => events.Any(e => e.EventId == "poison")
            ? throw new InvalidOperationException("the database refused event 'poison'")
            : new EnqueueResult([.. events.Select(e => e.Chunks.Count)], 0));
        await using var enqueuer = new GroupCommitEnqueuer(store);

        // The first delivery holds the writer in the store, so the next three queue up and are merged into one commit.
        var holder = enqueuer.EnqueueAsync([Event("holder", "d0")], default);
        await store.FirstCallStarted.Task;
        var good1 = enqueuer.EnqueueAsync([Event("good1", "d1")], default);
        var bad = enqueuer.EnqueueAsync([Event("good-beside-poison", "d2"), Event("poison", "d3")], default);
        var good2 = enqueuer.EnqueueAsync([Event("good2", "d4")], default);
        store.ReleaseFirstCall.SetResult();

        Assert.Equal(1, (await holder).NewChunks);
        Assert.Equal(1, (await good1).NewChunks);
        Assert.Equal(1, (await good2).NewChunks);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        Assert.Contains("poison", failure.Message, StringComparison.Ordinal);
        Assert.Contains(store.Calls, call => call.Count == 4);
        Assert.Contains(store.Calls, call => call.Count == 1 && call[0].EventId == "good1");
        Assert.Contains(store.Calls, call => call.Count == 1 && call[0].EventId == "good2");
    }

    /// <summary>
    /// Item 2.10: the queue is bounded by events. With the commit held, a delivery that does not fit waits for room
    /// and, when none is made within the wait, is refused with <see cref="GroupCommitQueueFullException"/> (the
    /// webhook answers 503). Time is a fake clock: nothing here sleeps.
    /// </summary>
    [Fact]
    public async Task FullQueue_DeliveryWaitsThenIsRefused_WhenNoRoomIsMade()
    {
        var clock = new FakeTimeProvider();
        var store = new ScriptedStore(events => new EnqueueResult([.. events.Select(e => e.Chunks.Count)], 0));
        await using var enqueuer = new GroupCommitEnqueuer(store, maxQueuedEvents: 3, queueWait: TimeSpan.FromSeconds(2), clock);

        var held = enqueuer.EnqueueAsync([Event("e1", "d1"), Event("e2", "d2")], default);
        await store.FirstCallStarted.Task;
        var fits = enqueuer.EnqueueAsync([Event("e3", "d3")], default);
        var waiting = enqueuer.EnqueueAsync([Event("e4", "d4")], default);

        Assert.Equal(3, enqueuer.QueuedEvents);
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(2));
        var refused = await Assert.ThrowsAsync<GroupCommitQueueFullException>(() => waiting);
        Assert.Contains("full", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, enqueuer.QueuedEvents);

        store.ReleaseFirstCall.SetResult();
        Assert.Equal(2, (await held).NewChunks);
        Assert.Equal(1, (await fits).NewChunks);
        Assert.DoesNotContain(store.Calls, call => call.Any(e => e.EventId == "e4"));
    }

    /// <summary>A waiting delivery gets in as soon as a commit makes room, without waiting out its time.</summary>
    [Fact]
    public async Task FullQueue_DeliveryGetsInWhenACommitMakesRoom()
    {
        var clock = new FakeTimeProvider();
        var store = new ScriptedStore(events => new EnqueueResult([.. events.Select(e => e.Chunks.Count)], 0));
        await using var enqueuer = new GroupCommitEnqueuer(store, maxQueuedEvents: 2, queueWait: TimeSpan.FromSeconds(2), clock);

        var held = enqueuer.EnqueueAsync([Event("e1", "d1"), Event("e2", "d2")], default);
        await store.FirstCallStarted.Task;
        var waiting = enqueuer.EnqueueAsync([Event("e3", "d3")], default);
        Assert.False(waiting.IsCompleted);

        store.ReleaseFirstCall.SetResult();

        Assert.Equal(2, (await held).NewChunks);
        Assert.Equal(1, (await waiting).NewChunks);
        Assert.Equal(0, enqueuer.QueuedEvents);
    }

    /// <summary>A delivery larger than the whole bound is let in once the queue is empty, so it never waits forever.</summary>
    [Fact]
    public async Task DeliveryLargerThanTheBound_IsLetInWhenTheQueueIsEmpty()
    {
        var store = new ScriptedStore(events => new EnqueueResult([.. events.Select(e => e.Chunks.Count)], 0));
        store.ReleaseFirstCall.SetResult();
        await using var enqueuer = new GroupCommitEnqueuer(store, maxQueuedEvents: 1, queueWait: TimeSpan.Zero, new FakeTimeProvider());

        var result = await enqueuer.EnqueueAsync([Event("e1", "d1"), Event("e2", "d2"), Event("e3", "d3")], default);

        Assert.Equal(3, result.NewChunks);
    }

    /// <summary>A store whose first enqueue waits for the test; every enqueue is answered by a function and logged.</summary>
    private sealed class ScriptedStore(Func<IReadOnlyList<EventChunks>, EnqueueResult> answer) : IChunkQueue
    {
        private int _calls;

        public TaskCompletionSource FirstCallStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseFirstCall { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public System.Collections.Concurrent.ConcurrentQueue<IReadOnlyList<EventChunks>> Calls { get; } = new();

        public async Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken)
        {
            Calls.Enqueue(events);
            if (Interlocked.Increment(ref _calls) == 1)
            {
                FirstCallStarted.SetResult();
                await ReleaseFirstCall.Task;
            }

            return answer(events);
        }

        public Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class FailingStore : IChunkQueue
    {
        public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken) => throw new InvalidOperationException("disk full");

        public Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}

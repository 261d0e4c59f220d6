using CallVault.Jobs;
using CallVault.Jobs.Sqlite;

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
        await using var enqueuer = new GroupCommitEnqueuer(_store);

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

    private sealed class FailingStore : IJobStore, IChunkQueue
    {
        public IChunkQueue Queue => this;

        public IChunkTransitions Transitions => throw new NotSupportedException();

        public IDeadLetters DeadLetters => throw new NotSupportedException();

        public IRecordingReadModel Recordings => throw new NotSupportedException();

        public IJobStoreSchema Schema => throw new NotSupportedException();

        public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken) => throw new InvalidOperationException("disk full");

        public Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}

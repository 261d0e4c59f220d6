using System.Collections.Concurrent;
using CallVault.Jobs;
using CallVault.Jobs.Sqlite;
using CallVault.Processing;
using CallVault.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Processing;

/// <summary>The manifest sweeper over a real SQLite store, on a fake clock.</summary>
public sealed class ManifestSweeperTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-sweeper-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero));
    private SqliteJobStore _jobs = null!;

    public async Task InitializeAsync()
    {
        _jobs = new SqliteJobStore($"Data Source={Path.Combine(_folder, "jobs.db")}", _clock);
        await _jobs.Schema.InitializeAsync(default);
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Completion times come from each instance's clock, which may be well apart: every pass, not only the first, looks
    /// at least two minutes back, so a chunk another instance stamped a minute "in the past" is still seen.
    /// </summary>
    [Fact]
    public async Task EveryPass_LooksAtLeastTwoMinutesBack()
    {
        var passes = new ConcurrentQueue<(DateTimeOffset Now, DateTimeOffset Since)>();
        var store = new DiskRecordingStore(Path.Combine(_folder, "recordings"));
        var sweeper = new ManifestSweeper(
            new JobStoreWithRecordings(_jobs, new ListingRecorder(_jobs.Recordings, since => passes.Enqueue((_clock.GetUtcNow(), since)))),
            new ManifestWriter(_jobs, store, _clock),
            _clock,
            NullLogger<ManifestSweeper>.Instance);

        await sweeper.StartAsync(default);
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (passes.Count < 4)
            {
                // Moves time on whether or not the sweeper waits yet; a pass runs once its five seconds have passed.
                _clock.Advance(TimeSpan.FromSeconds(5));
                await Task.Delay(10, deadline.Token);
            }
        }
        finally
        {
            await sweeper.StopAsync(default);
        }

        Assert.All(passes, pass => Assert.True(pass.Since <= pass.Now - TimeSpan.FromMinutes(2), $"A pass at {pass.Now:O} looked back only to {pass.Since:O}."));
    }

    private sealed class ListingRecorder(IRecordingReadModel inner, Action<DateTimeOffset> listed) : IRecordingReadModel
    {
        public Task<IReadOnlyList<RecordingSummary>> ListRecordingsAsync(RecordingQuery query, CancellationToken cancellationToken) => inner.ListRecordingsAsync(query, cancellationToken);

        public Task<RecordingDetails?> GetRecordingAsync(string recordingKey, CancellationToken cancellationToken) => inner.GetRecordingAsync(recordingKey, cancellationToken);

        public Task<IReadOnlyList<string>> ListRecentlyStoredRecordingsAsync(DateTimeOffset since, CancellationToken cancellationToken)
        {
            listed(since);
            return inner.ListRecentlyStoredRecordingsAsync(since, cancellationToken);
        }

        public Task<IReadOnlyList<ChunkJob>> ListChunksAsync(ChunkState state, int take, CancellationToken cancellationToken) => inner.ListChunksAsync(state, take, cancellationToken);

        public Task<JobStatistics> GetStatisticsAsync(CancellationToken cancellationToken) => inner.GetStatisticsAsync(cancellationToken);

        public Task<ReconciliationReport> GetReconciliationAsync(ReconciliationQuery query, CancellationToken cancellationToken) => inner.GetReconciliationAsync(query, cancellationToken);

        public Task<IReadOnlyList<TimelinePoint>> GetTimelineAsync(TimelineQuery query, CancellationToken cancellationToken) => inner.GetTimelineAsync(query, cancellationToken);
    }

    private sealed class JobStoreWithRecordings(IJobStore inner, IRecordingReadModel recordings) : IJobStore
    {
        public IChunkQueue Queue => inner.Queue;

        public IChunkTransitions Transitions => inner.Transitions;

        public IDeadLetters DeadLetters => inner.DeadLetters;

        public IRecordingReadModel Recordings => recordings;

        public IJobStoreSchema Schema => inner.Schema;

        public CallVault.Events.IRejectedEventStore RejectedEvents => inner.RejectedEvents;

        public CallVault.Sessions.IRecordingSessionStore Sessions => inner.Sessions;

        public CallVault.Recovery.IDeadLetterRecoveryStore DeadLetterRecovery => inner.DeadLetterRecovery;

        public CallVault.Audit.IAccessAuditLog AccessAudit => inner.AccessAudit;

        public CallVault.Retention.IRetentionStore Retention => inner.Retention;
    }
}

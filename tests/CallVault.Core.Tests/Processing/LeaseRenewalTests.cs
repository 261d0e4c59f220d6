using System.Threading.Channels;
using CallVault.Jobs;
using CallVault.Jobs.Sqlite;
using CallVault.Processing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Processing;

/// <summary>Lease renewal over a real SQLite store, with time from a fake clock the test advances wait by wait.</summary>
public sealed class LeaseRenewalTests : IAsyncLifetime
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(2);
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-renewal-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero));
    private readonly Channel<TimeSpan> _waits = Channel.CreateUnbounded<TimeSpan>();
    private SqliteJobStore _jobs = null!;

    public async Task InitializeAsync()
    {
        _jobs = new SqliteJobStore($"Data Source={Path.Combine(_folder, "jobs.db")}", _clock);
        await _jobs.Schema.InitializeAsync(default);
        await _jobs.Queue.EnqueueAsync("e1", [new ChunkRequest
        {
            DocumentId = "d1",
            Recording = new RecordingInfo { Key = "rec-1" },
            EventTime = _clock.GetUtcNow(),
        }], default);
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>A renewal that reports each wait once its timer exists, so that advancing the clock never races it.</summary>
    private LeaseRenewal Renewal(IChunkQueue queue, ChunkLease lease, Task? waitFor = null, TimeSpan? leaseDuration = null) => new(queue, lease, leaseDuration ?? LeaseDuration, _clock, NullLogger.Instance)
    {
        Wait = (delay, cancellationToken) =>
        {
            var wait = waitFor?.WaitAsync(cancellationToken) ?? Task.Delay(delay, _clock, cancellationToken);
            _waits.Writer.TryWrite(delay);
            return wait;
        },
    };

    /// <summary>The next wait the renewal started; fails the test if none starts (the renewal stopped).</summary>
    private async Task<TimeSpan> NextWaitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            return await _waits.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException("The renewal stopped: it started no further wait.");
        }
    }

    /// <summary>Three renewals fail with a transient error: renewal goes on, and past the first lease's end nobody else can take the chunk.</summary>
    /// <summary>The work ending (every chunk's normal end) stops the renewal without a thrown TaskCanceledException.</summary>
    [Fact]
    public async Task RunAsync_WorkEnds_StopsWithoutThrowing()
    {
        var lease = (await _jobs.Queue.TryLeaseAsync("worker", LeaseDuration, default))!;
        var renewal = new LeaseRenewal(_jobs.Queue, lease, LeaseDuration, _clock, NullLogger.Instance);
        using var work = new CancellationTokenSource();
        using var thrown = ThrownExceptions.Record();

        var running = renewal.RunAsync(work);
        await work.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(renewal.IsLost);
        Assert.Empty(thrown.Of<OperationCanceledException>());
    }

    [Fact]
    public async Task RunAsync_TransientRenewFailures_KeepsRenewingAndTheLeaseNeverExpires()
    {
        var lease = (await _jobs.Queue.TryLeaseAsync("worker", LeaseDuration, default))!;
        var flaky = new FlakyQueue(_jobs.Queue, failures: 3);
        var renewal = Renewal(flaky, lease);
        using var work = new CancellationTokenSource();

        var running = renewal.RunAsync(work);
        var waits = new List<TimeSpan>();
        while (flaky.Succeeded < 3)
        {
            var wait = await NextWaitAsync();
            waits.Add(wait);
            _clock.Advance(wait);
        }

        // A third of the lease, then a short backoff while renewals fail, then a third of the lease again.
        var third = LeaseDuration / 3;
        Assert.Equal([third, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), third, third], waits);
        Assert.True(waits.Aggregate(TimeSpan.Zero, (a, b) => a + b) > LeaseDuration);
        Assert.Equal(3, flaky.Failed);
        Assert.Null(await _jobs.Queue.TryLeaseAsync("other", LeaseDuration, default));
        Assert.False(renewal.IsLost);
        Assert.False(work.IsCancellationRequested);

        await work.CancelAsync();
        await running;
    }

    /// <summary>The store says the lease is lost: renewal stops and cancels the work, and says so.</summary>
    [Fact]
    public async Task RunAsync_LeaseTakenByAnother_CancelsTheWork()
    {
        var lease = (await _jobs.Queue.TryLeaseAsync("worker", LeaseDuration, default))!;
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var renewal = Renewal(_jobs.Queue, lease, resume.Task);
        using var work = new CancellationTokenSource();
        var running = renewal.RunAsync(work);

        // The renewal stalls past the lease's end (say, the machine was suspended) and another worker takes the chunk.
        await NextWaitAsync();
        _clock.Advance(LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.NotNull(await _jobs.Queue.TryLeaseAsync("other", LeaseDuration, default));
        resume.SetResult();
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(renewal.IsLost);
        Assert.True(work.IsCancellationRequested);
    }

    /// <summary>
    /// Renewals keep failing until the lease is about to run out: past its end another worker may take the chunk, so
    /// this one stops (the work is cancelled and the lease counts as lost) a sixth of a lease before it, so that a
    /// timer that fires late or a download slow to notice still ends before another may start.
    /// </summary>
    [Fact]
    public async Task RunAsync_RenewalsFailUntilTheLeaseRunsOut_CancelsTheWork()
    {
        var lease = (await _jobs.Queue.TryLeaseAsync("worker", LeaseDuration, default))!;
        var renewal = Renewal(new FlakyQueue(_jobs.Queue, failures: int.MaxValue), lease);
        using var work = new CancellationTokenSource();

        var running = renewal.RunAsync(work);
        var waited = TimeSpan.Zero;
        while (waited <= LeaseDuration * 3)
        {
            // After each failed renewal the loop either starts its next wait or stops: whichever comes first.
            var nextWait = _waits.Reader.WaitToReadAsync().AsTask();
            if (await Task.WhenAny(nextWait, running).WaitAsync(TimeSpan.FromSeconds(30)) == running)
            {
                break;
            }

            Assert.True(_waits.Reader.TryRead(out var wait));
            waited += wait;
            _clock.Advance(wait);
        }

        await running.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(renewal.IsLost);
        Assert.True(work.IsCancellationRequested);
        Assert.Equal(LeaseDuration - (LeaseDuration / 6), waited);
    }

    /// <summary>
    /// A renewal that hangs (a database waiting out its command timeout) is cut off a sixth of a lease before the lease
    /// runs out: the work stops then, not whenever the database answers, and with that margin before another worker
    /// may take the chunk.
    /// </summary>
    [Fact]
    public async Task RunAsync_RenewalHangsPastTheLeaseEnd_StopsTheWorkASixthOfALeaseBeforeItsEnd()
    {
        var lease = (await _jobs.Queue.TryLeaseAsync("worker", LeaseDuration, default))!;
        var hanging = new HangingQueue(_jobs.Queue);
        var renewal = Renewal(hanging, lease);
        using var work = new CancellationTokenSource();
        var running = renewal.RunAsync(work);

        _clock.Advance(await NextWaitAsync());
        await hanging.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(running.IsCompleted);

        // Up to a sixth of a lease before its end (half a lease after the first renewal started) it may still answer.
        _clock.Advance((LeaseDuration / 2) - TimeSpan.FromSeconds(1));
        Assert.False(work.IsCancellationRequested);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(renewal.IsLost);
        Assert.True(work.IsCancellationRequested);
    }

    /// <summary>
    /// A lease taken before its renewal started (by the commit that completed the worker's previous chunk) ends when
    /// the store says, not a lease duration after the renewal started, and not a duration read again from options that
    /// a reload has changed meanwhile: a hanging renewal stops the work a sixth of a lease before that end.
    /// </summary>
    [Fact]
    public async Task RunAsync_LeaseTakenBeforeTheRenewalStarted_StopsTheWorkBeforeTheLeasesRecordedEnd()
    {
        var lease = (await _jobs.Queue.TryLeaseAsync("worker", LeaseDuration, default))!;
        var expiresAt = _clock.GetUtcNow() + LeaseDuration;
        _clock.Advance(TimeSpan.FromSeconds(30));
        var hanging = new HangingQueue(_jobs.Queue);
        var renewal = Renewal(hanging, lease, leaseDuration: LeaseDuration * 2);
        using var work = new CancellationTokenSource();
        var running = renewal.RunAsync(work);

        _clock.Advance(await NextWaitAsync());
        await hanging.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _clock.Advance(expiresAt - (LeaseDuration * 2 / 6) - _clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.False(work.IsCancellationRequested);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(renewal.IsLost);
        Assert.True(work.IsCancellationRequested);
    }

    /// <summary>
    /// A lease with less than a third of its time left when its renewal starts (taken by a completing commit, with
    /// slow work in between) is renewed at once, not left to run out: the work goes on and nobody else may take the
    /// chunk past the lease's first end.
    /// </summary>
    [Fact]
    public async Task RunAsync_LeaseWithLessThanAThirdLeft_RenewsAtOnceAndKeepsTheChunk()
    {
        var lease = (await _jobs.Queue.TryLeaseAsync("worker", LeaseDuration, default))!;
        _clock.Advance(LeaseDuration * 0.6);
        var renewal = Renewal(_jobs.Queue, lease);
        using var work = new CancellationTokenSource();
        var running = renewal.RunAsync(work);

        Assert.Equal(TimeSpan.Zero, await NextWaitAsync());
        Assert.Equal(LeaseDuration / 3, await NextWaitAsync());
        _clock.Advance(LeaseDuration * 0.5);

        Assert.Null(await _jobs.Queue.TryLeaseAsync("other", LeaseDuration, default));
        Assert.False(renewal.IsLost);
        Assert.False(work.IsCancellationRequested);
        await work.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>A queue whose renewals never answer until they are cancelled.</summary>
    private sealed class HangingQueue(IChunkQueue inner) : IChunkQueue
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken) => inner.EnqueueAsync(events, cancellationToken);

        public Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) => inner.TryLeaseAsync(owner, leaseDuration, cancellationToken);

        public async Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    /// <summary>A queue whose renewals fail with a transient error a few times before they reach the store.</summary>
    private sealed class FlakyQueue(IChunkQueue inner, int failures) : IChunkQueue
    {
        public int Failed { get; private set; }

        public int Succeeded { get; private set; }

        public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken) => inner.EnqueueAsync(events, cancellationToken);

        public Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) => inner.TryLeaseAsync(owner, leaseDuration, cancellationToken);

        public async Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            if (Failed < failures)
            {
                Failed++;
                throw new TimeoutException("The database did not answer in time.");
            }

            await inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);
            Succeeded++;
        }
    }
}

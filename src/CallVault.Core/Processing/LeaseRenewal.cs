using CallVault.Jobs;
using Microsoft.Extensions.Logging;

namespace CallVault.Processing;

/// <summary>
/// Keeps one lease alive while its chunk is worked on: renews it every third of the lease duration (at once when it
/// has less than that left before the holder must stop), and after a failure that is not "lease lost" (the database
/// briefly unreachable, a timeout) tries again soon with a short backoff, for as long as the work goes on. The store
/// saying the lease is lost ends it, and so does a lease about to run out unrenewed: then the work is cancelled, since
/// another worker may own the chunk, and every write this one would make is refused anyway.
/// </summary>
internal sealed partial class LeaseRenewal(IChunkQueue queue, ChunkLease lease, TimeSpan leaseDuration, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>The longest wait between retries after a failed renewal: 5 seconds (less when the lease is short).</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>True once the store said the lease is lost.</summary>
    public bool IsLost { get; private set; }

    /// <summary>Renewals that failed for another reason, in a row.</summary>
    public int ConsecutiveFailures { get; private set; }

    /// <summary>How the renewal waits; a test replaces it to observe each wait once its timer exists.</summary>
    internal Func<TimeSpan, CancellationToken, Task> Wait { get; init; } = (delay, cancellationToken) => Task.Delay(delay, timeProvider, cancellationToken);

    /// <summary>The wait before the next renewal: a third of the lease, or the backoff after failures.</summary>
    public TimeSpan NextDelay()
    {
        var interval = leaseDuration / 3;
        if (ConsecutiveFailures == 0)
        {
            return interval;
        }

        var backoff = TimeSpan.FromMilliseconds(500 * Math.Pow(2, Math.Min(ConsecutiveFailures - 1, 10)));
        return TimeSpan.FromTicks(Math.Min(backoff.Ticks, Math.Min(MaxRetryDelay.Ticks, interval.Ticks)));
    }

    /// <summary>Renews until <paramref name="work"/> is cancelled or the lease is lost (and then cancels it).</summary>
    public async Task RunAsync(CancellationTokenSource work)
    {
        ArgumentNullException.ThrowIfNull(work);

        // The lease is ours until its recorded end unless a renewal moves it on (a lease taken by the commit that
        // completed the previous chunk is older than this renewal). Past that end another worker may lease the chunk
        // and start the same download: going on would fetch the object twice and race the other writer for the same
        // partial upload, so a lease that could not be renewed in time counts as lost. The work stops a sixth of a
        // lease before that end, not at it: a timer may fire late (a starved thread pool, a GC or VM pause) and a
        // cancelled download takes a moment to let go, and meanwhile the store may already give the chunk to another.
        var interval = leaseDuration / 3;
        var margin = leaseDuration / 6;
        var stopAt = (lease.ExpiresAt ?? timeProvider.GetUtcNow() + leaseDuration) - margin;
        try
        {
            while (true)
            {
                // Never sleep past the end of the lease, and never let one renewal (a database that hangs until its
                // command timeout) run past it either: the worker must stop before another may start.
                // While renewals succeed, each starts with at least a third of a lease left before the work must stop,
                // which is the time it has to answer; a lease that has less than that already is renewed at once.
                var left = stopAt - timeProvider.GetUtcNow();
                var delay = ConsecutiveFailures == 0 ? Min(left - interval, interval) : Min(left, NextDelay());
                // The work ending cancels the wait on every chunk: observed without throwing, since a thrown
                // TaskCanceledException per chunk was a measurable share of a catch-up burst's CPU.
                await Wait(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, work.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (work.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    var renewedAt = timeProvider.GetUtcNow();
                    var budget = stopAt - renewedAt;
                    if (budget <= TimeSpan.Zero)
                    {
                        throw new TimeoutException("The lease ran out before it could be renewed.");
                    }

                    using var deadline = new CancellationTokenSource(budget, timeProvider);
                    using var renewal = CancellationTokenSource.CreateLinkedTokenSource(work.Token, deadline.Token);
                    await queue.RenewLeaseAsync(lease, leaseDuration, renewal.Token).ConfigureAwait(false);
                    stopAt = renewedAt + leaseDuration - margin;
                    ConsecutiveFailures = 0;
                }
                catch (LeaseLostException)
                {
                    IsLost = true;
                    Log.LeaseLost(logger, lease.DocumentId);
                    await work.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !work.IsCancellationRequested)
                {
                    ConsecutiveFailures++;
                    if (timeProvider.GetUtcNow() >= stopAt)
                    {
                        IsLost = true;
                        Log.LeaseExpired(logger, lease.DocumentId, ConsecutiveFailures, ex);
                        await work.CancelAsync().ConfigureAwait(false);
                        return;
                    }

                    Log.RenewFailed(logger, lease.DocumentId, ConsecutiveFailures, NextDelay(), ex);
                }
            }
        }
        catch (OperationCanceledException) when (work.IsCancellationRequested)
        {
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Lost the lease on chunk {DocumentId}; another worker has it, this one stops")]
        public static partial void LeaseLost(ILogger logger, string documentId);

        [LoggerMessage(21, LogLevel.Warning, "Could not renew the lease on chunk {DocumentId} ({Failures} in a row); trying again in {RetryIn}")]
        public static partial void RenewFailed(ILogger logger, string documentId, int failures, TimeSpan retryIn, Exception exception);

        [LoggerMessage(22, LogLevel.Warning, "The lease on chunk {DocumentId} is about to run out after {Failures} failed renewal(s); this worker stops so that another can take the chunk without a second download")]
        public static partial void LeaseExpired(ILogger logger, string documentId, int failures, Exception exception);
    }
}

using CallVault.Jobs;
using Microsoft.Extensions.Logging;

namespace CallVault.Processing;

/// <summary>
/// Keeps one lease alive while its chunk is worked on: renews it every third of the lease duration, and after a
/// failure that is not "lease lost" (the database briefly unreachable, a timeout) tries again soon with a short
/// backoff, for as long as the work goes on. Only the store saying the lease is lost ends it early, and then the work
/// is cancelled: another worker owns the chunk, and every write this one would make is refused anyway.
/// </summary>
internal sealed partial class LeaseRenewal(IChunkQueue queue, ChunkLease lease, TimeSpan leaseDuration, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>The longest wait between retries after a failed renewal: 5 seconds (less when the lease is short).</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>True once the store said the lease is lost.</summary>
    public bool IsLost { get; private set; }

    /// <summary>Renewals that failed for another reason, in a row.</summary>
    public int ConsecutiveFailures { get; private set; }

    /// <summary>
    /// No later than when the lease was taken: its end is this plus the lease duration. Null when it was taken just
    /// now. A lease taken by the commit that completed the worker's previous chunk is older than the renewal by
    /// whatever ran in between (the manifest's second write), and its end must not be counted from later.
    /// </summary>
    public DateTimeOffset? HeldSince { get; init; }

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

        // The lease is ours until this time unless a renewal moves it on. Past it, another worker may lease the chunk
        // and start the same download: going on would fetch the object twice and race the other writer for the
        // same partial upload, so a lease that could not be renewed in time counts as lost.
        var heldUntil = (HeldSince ?? timeProvider.GetUtcNow()) + leaseDuration;
        try
        {
            while (true)
            {
                // Never sleep past the end of the lease, and never let one renewal (a database that hangs until its
                // command timeout) run past it either: the worker must stop before another may start.
                var left = heldUntil - timeProvider.GetUtcNow();
                // The work ending cancels the wait on every chunk: observed without throwing, since a thrown
                // TaskCanceledException per chunk was a measurable share of a catch-up burst's CPU.
                await Wait(left < NextDelay() ? TimeSpan.FromTicks(Math.Max(0, left.Ticks)) : NextDelay(), work.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (work.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    var renewedAt = timeProvider.GetUtcNow();
                    var budget = heldUntil - renewedAt;
                    if (budget <= TimeSpan.Zero)
                    {
                        throw new TimeoutException("The lease ran out before it could be renewed.");
                    }

                    using var deadline = new CancellationTokenSource(budget, timeProvider);
                    using var renewal = CancellationTokenSource.CreateLinkedTokenSource(work.Token, deadline.Token);
                    await queue.RenewLeaseAsync(lease, leaseDuration, renewal.Token).ConfigureAwait(false);
                    heldUntil = renewedAt + leaseDuration;
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
                    if (timeProvider.GetUtcNow() >= heldUntil)
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

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Lost the lease on chunk {DocumentId}; another worker has it, this one stops")]
        public static partial void LeaseLost(ILogger logger, string documentId);

        [LoggerMessage(21, LogLevel.Warning, "Could not renew the lease on chunk {DocumentId} ({Failures} in a row); trying again in {RetryIn}")]
        public static partial void RenewFailed(ILogger logger, string documentId, int failures, TimeSpan retryIn, Exception exception);

        [LoggerMessage(22, LogLevel.Warning, "The lease on chunk {DocumentId} ran out after {Failures} failed renewal(s); this worker stops so that another can take the chunk without a second download")]
        public static partial void LeaseExpired(ILogger logger, string documentId, int failures, Exception exception);
    }
}

using CallVault.Jobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallVault.Retention;

/// <summary>
/// Runs on every instance, at start-up and then every <see cref="RetentionOptions.SweepInterval"/>. The instance holding
/// the retention lease (taken for a pass, renewed after every recording, given up at its end) first finishes deletions a crash interrupted, then, when
/// <see cref="RetentionOptions.KeepDays"/> is set, deletes recordings stored wholly (every chunk stored and verified)
/// longer ago than that and not under legal hold. Any other instance's pass does nothing while the lease is held.
/// </summary>
/// <remarks>
/// Age counts from when the recording was stored whole (its last chunk's store time), not from the call: a recording
/// CallVault brought in late (recovered from a dead letter, downloaded after an outage) is then kept the full period
/// in the vault, so that there is always time to put a hold on it before it can go.
/// </remarks>
public sealed partial class RetentionSweeper(
    IJobStore jobs,
    RecordingDeleter deleter,
    RetentionMetrics metrics,
    IOptionsMonitor<RetentionOptions> options,
    TimeProvider timeProvider,
    ILogger<RetentionSweeper> logger) : BackgroundService
{
    /// <summary>This instance's name for the lease.</summary>
    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>One pass: counts holds, then deletes what is due if this instance holds (or takes) the lease.</summary>
    /// <returns>Recordings this pass deleted (tombstones it wrote).</returns>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        metrics.SetActiveHolds(await jobs.Retention.CountActiveHoldsAsync(cancellationToken).ConfigureAwait(false));
        var settings = options.CurrentValue;
        if (!await jobs.Retention.TryAcquireLeaseAsync(Owner, settings.LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        var deleted = 0;
        var attempts = 0;
        try
        {
            // A deletion begun is finished, whatever the settings are now: its files may already be partly gone.
            foreach (var unfinished in await jobs.Retention.ListUnfinishedDeletionsAsync(Math.Min(settings.BatchSize, settings.MaxDeletionsPerPass), cancellationToken).ConfigureAwait(false))
            {
                attempts++;
                deleted += await TryAsync(unfinished.RecordingKey, async () => (await deleter.ResumeAsync(unfinished, cancellationToken).ConfigureAwait(false)).Written, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                if (!await RenewAsync(settings, cancellationToken).ConfigureAwait(false))
                {
                    return deleted;
                }
            }

            if (settings.KeepDays is not { } keepDays)
            {
                return deleted;
            }

            var now = timeProvider.GetUtcNow();
            if (await jobs.Retention.GetNewestActivityAsync(cancellationToken).ConfigureAwait(false) is { } newest
                && now - newest > settings.ClockLeadTolerance)
            {
                // Either nothing arrived for that long or this clock jumped ahead; deleting by it could take every
                // recording not held, so they are kept until the clock and the database agree again.
                metrics.Skipped.Add(1, new KeyValuePair<string, object?>("reason", "clock_ahead"));
                Log.ClockAhead(logger, now, settings.ClockLeadTolerance, newest);
                return deleted;
            }

            var storedBefore = now - TimeSpan.FromDays(keepDays);
            while (attempts < settings.MaxDeletionsPerPass)
            {
                var due = await jobs.Retention.ListDueAsync(storedBefore, Math.Min(settings.BatchSize, settings.MaxDeletionsPerPass - attempts), cancellationToken).ConfigureAwait(false);
                var deletedThisBatch = 0;
                foreach (var key in due)
                {
                    attempts++;

                    // Only a tombstone this deletion wrote counts: one found already written deleted nothing now.
                    deletedThisBatch += await TryAsync(key, async () => (await deleter.DeleteAsync(key, settings.Rule, storedBefore, caller: null, cancellationToken).ConfigureAwait(false)).Written, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                    if (!await RenewAsync(settings, cancellationToken).ConfigureAwait(false))
                    {
                        return deleted + deletedThisBatch;
                    }
                }

                deleted += deletedThisBatch;

                // A short batch was the last; one that deleted nothing (each was held, changed meanwhile or failed) must not
                // spin. A failed one keeps its mark, so it is not listed due again: the next pass resumes it.
                if (due.Count < settings.BatchSize || deletedThisBatch == 0)
                {
                    return deleted;
                }
            }

            return deleted;
        }
        finally
        {
            if (deleted > 0)
            {
                Log.Swept(logger, deleted);
            }

            // Held only during a pass: a process killed outside one (during a deletion by hand, say) must not keep the
            // next start from finishing that deletion until the lease expires. One killed during a pass does, for at
            // most LeaseDuration.
            await jobs.Retention.ReleaseLeaseAsync(Owner, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.SweepFailed(logger, ex);
            }

            try
            {
                await Task.Delay(options.CurrentValue.SweepInterval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await jobs.Retention.ReleaseLeaseAsync(Owner, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The lease then expires on its own.
            Log.ReleaseFailed(logger, ex);
        }
    }

    /// <summary>
    /// Runs one deletion; a failure (a file the store cannot delete, say) is logged and counted, and leaves its mark for
    /// the next pass, instead of ending the pass: one recording that cannot go must not keep every other one.
    /// </summary>
    private async Task<bool> TryAsync(string recordingKey, Func<Task<bool>> deletion, CancellationToken cancellationToken)
    {
        try
        {
            return await deletion().ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            metrics.RecordFailure();
            Log.DeletionFailed(logger, recordingKey, ex);
            return false;
        }
    }

    private Task<bool> RenewAsync(RetentionOptions settings, CancellationToken cancellationToken) =>
        jobs.Retention.TryAcquireLeaseAsync(Owner, settings.LeaseDuration, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Retention sweep deleted {Count} recordings")]
        public static partial void Swept(ILogger logger, int count);

        [LoggerMessage(2, LogLevel.Warning, "Retention sweep failed; it runs again at the next interval")]
        public static partial void SweepFailed(ILogger logger, Exception exception);

        [LoggerMessage(4, LogLevel.Warning, "Retention sweep skipped: this clock ({Now:u}) is more than {Tolerance} ahead of the newest time the database recorded ({Newest:u}); deleting by it could take every recording not held")]
        public static partial void ClockAhead(ILogger logger, DateTimeOffset now, TimeSpan tolerance, DateTimeOffset newest);

        [LoggerMessage(5, LogLevel.Warning, "Deleting recording {RecordingKey} failed; its mark stays and the next sweep pass tries again")]
        public static partial void DeletionFailed(ILogger logger, string recordingKey, Exception exception);

        [LoggerMessage(3, LogLevel.Debug, "Could not release the retention lease; it expires on its own")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception);
    }
}

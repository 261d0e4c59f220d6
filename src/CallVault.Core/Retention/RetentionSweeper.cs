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
        try
        {
            // A deletion begun is finished, whatever the settings are now: its files may already be partly gone.
            foreach (var unfinished in await jobs.Retention.ListUnfinishedDeletionsAsync(settings.BatchSize, cancellationToken).ConfigureAwait(false))
            {
                var (_, written) = await deleter.ResumeAsync(unfinished, cancellationToken).ConfigureAwait(false);
                deleted += written ? 1 : 0;
                if (!await RenewAsync(settings, cancellationToken).ConfigureAwait(false))
                {
                    return deleted;
                }
            }

            if (settings.KeepDays is not { } keepDays)
            {
                return deleted;
            }

            var storedBefore = timeProvider.GetUtcNow() - TimeSpan.FromDays(keepDays);
            while (true)
            {
                var due = await jobs.Retention.ListDueAsync(storedBefore, settings.BatchSize, cancellationToken).ConfigureAwait(false);
                var deletedThisBatch = 0;
                foreach (var key in due)
                {
                    var result = await deleter.DeleteAsync(key, settings.Rule, storedBefore, caller: null, cancellationToken).ConfigureAwait(false);
                    deletedThisBatch += result.Tombstone is null ? 0 : 1;
                    if (!await RenewAsync(settings, cancellationToken).ConfigureAwait(false))
                    {
                        return deleted + deletedThisBatch;
                    }
                }

                deleted += deletedThisBatch;

                // A short batch was the last; one that deleted nothing (each was held or changed meanwhile) must not spin.
                if (due.Count < settings.BatchSize || deletedThisBatch == 0)
                {
                    return deleted;
                }
            }
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

    private Task<bool> RenewAsync(RetentionOptions settings, CancellationToken cancellationToken) =>
        jobs.Retention.TryAcquireLeaseAsync(Owner, settings.LeaseDuration, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Retention sweep deleted {Count} recordings")]
        public static partial void Swept(ILogger logger, int count);

        [LoggerMessage(2, LogLevel.Warning, "Retention sweep failed; it runs again at the next interval")]
        public static partial void SweepFailed(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Debug, "Could not release the retention lease; it expires on its own")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception);
    }
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallVault.Recovery;

/// <summary>
/// Runs <see cref="DeadLetterRecovery"/> every <see cref="DeadLetterRecoveryOptions.PollInterval"/> when
/// <c>CallVault:Recovery:DeadLetter</c> is configured; does nothing otherwise. Every instance runs it; the lease in the
/// job database lets one of them read at a time.
/// </summary>
public sealed partial class DeadLetterRecoveryService(
    IServiceProvider services,
    Jobs.IJobStore jobs,
    IOptionsMonitor<DeadLetterRecoveryOptions> options,
    TimeProvider timeProvider,
    ILogger<DeadLetterRecoveryService> logger) : BackgroundService
{
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>The last pass that completed, or null before the first.</summary>
    public DeadLetterPassResult? LastPass { get; private set; }

    /// <summary>When the last pass completed.</summary>
    public DateTimeOffset? LastPassAt { get; private set; }

    /// <summary>
    /// Why the last pass failed, or null when it succeeded (a storage or database outage; retried next poll): a short
    /// category (the exception's type), never its message, which may name the account or a URL; the details are logged.
    /// </summary>
    public string? LastError { get; private set; }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.CurrentValue.IsConfigured)
        {
            return;
        }

        Log.Started(logger, options.CurrentValue.ContainerName, options.CurrentValue.PollInterval);
        try
        {
            DeadLetterRecovery? recovery = null;
            while (!stoppingToken.IsCancellationRequested)
            {
                // Nothing a pass throws may end this loop: an exception out of ExecuteAsync stops the host.
                try
                {
                    // Resolved here, not injected (the source exists only when recovery is configured), and inside the
                    // try: a source that cannot be built is logged and tried again, never a stopped host.
                    recovery ??= (DeadLetterRecovery)services.GetService(typeof(DeadLetterRecovery))!;
                    LastPass = await recovery.RunOnceAsync(_owner, stoppingToken).ConfigureAwait(false);
                    LastPassAt = timeProvider.GetUtcNow();
                    LastError = null;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // A storage or database outage: the next poll tries again; nothing was marked done that was not committed.
                    LastError = "The last pass failed (" + DeadLetterRecovery.FailureCategory(ex) + "); it is tried again at the next poll. The details are in the log.";
                    Log.PassFailed(logger, ex);
                }

                await Task.Delay(options.CurrentValue.PollInterval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            try
            {
                using var release = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await jobs.DeadLetterRecovery.ReleaseLeaseAsync(_owner, release.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The lease expires on its own; another instance takes over then.
                Log.ReleaseFailed(logger, ex.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Dead-letter recovery polls container {Container} every {Interval}")]
        public static partial void Started(ILogger logger, string? container, TimeSpan interval);

        [LoggerMessage(2, LogLevel.Error, "A dead-letter recovery pass failed; it is tried again at the next poll")]
        public static partial void PassFailed(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Warning, "Could not release the dead-letter polling lease ({Reason}); it expires on its own")]
        public static partial void ReleaseFailed(ILogger logger, string reason);
    }
}

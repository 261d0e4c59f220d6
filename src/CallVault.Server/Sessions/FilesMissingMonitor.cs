using System.Diagnostics.Metrics;
using CallVault.Diagnostics;
using CallVault.Jobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Sessions;

/// <summary>
/// The gauge <c>callvault.sessions.files_missing</c> (Prometheus: <c>callvault_sessions_files_missing</c>): recording
/// sessions stopped longer than <see cref="RecordingControlOptions.FilesMissingAfter"/> ago whose files never came.
/// Read from the latest count, so that a scrape never waits on the database.
/// </summary>
internal sealed class SessionMetrics
{
    private long _filesMissing;

    public SessionMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(CallVaultMetrics.MeterName);
        meter.CreateObservableGauge(
            "callvault.sessions.files_missing",
            () => Volatile.Read(ref _filesMissing),
            "{session}",
            "Recording sessions that went inactive for good and whose files did not arrive within CallVault:Recording:FilesMissingAfter.");
    }

    public void Update(long filesMissing) => Volatile.Write(ref _filesMissing, filesMissing);
}

/// <summary>Counts the sessions missing their files every few seconds, for the gauge and the log.</summary>
internal sealed partial class FilesMissingSampler(
    IJobStore jobs,
    SessionMetrics metrics,
    IOptionsMonitor<RecordingControlOptions> options,
    TimeProvider timeProvider,
    ILogger<FilesMissingSampler> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long last = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var missing = await jobs.Sessions.CountFilesMissingAsync(options.CurrentValue.FilesMissingAfter, stoppingToken);
                metrics.Update(missing);
                if (missing > last)
                {
                    Log.FilesMissing(logger, missing, options.CurrentValue.FilesMissingAfter.TotalMinutes);
                }

                last = missing;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.SampleFailed(logger, ex);
            }

            await Task.Delay(Interval, timeProvider, stoppingToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "{Count} recording session(s) stopped more than {Minutes} minutes ago without their files; see /api/sessions?filesMissing=true")]
        public static partial void FilesMissing(ILogger logger, long count, double minutes);

        [LoggerMessage(2, LogLevel.Warning, "Could not count the recording sessions missing their files")]
        public static partial void SampleFailed(ILogger logger, Exception exception);
    }
}

/// <summary>Part of <c>/health/ready</c>: Degraded while a recording session that ended has not delivered its files in time.</summary>
internal sealed class SessionsHealthCheck(IJobStore jobs, IOptionsMonitor<RecordingControlOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var window = options.CurrentValue.FilesMissingAfter;
        try
        {
            var missing = await jobs.Sessions.CountFilesMissingAsync(window, cancellationToken);
            var data = new Dictionary<string, object> { ["filesMissing"] = missing };
            return missing == 0
                ? HealthCheckResult.Healthy("Every recording session that ended has its files, or is still within its window.", data)
                : HealthCheckResult.Degraded(
                    $"{missing} recording session(s) ended more than {window.TotalMinutes:0.#} minutes ago and their files never arrived; see /api/sessions?filesMissing=true (for Bring Your Own Storage, look in the customer's container).",
                    data: data);
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"The recording sessions cannot be read: {ex.Message}");
        }
    }
}

using CallVault.Diagnostics;
using CallVault.Jobs;

namespace CallVault.Server.Health;

/// <summary>Refreshes <see cref="JobStatisticsCache"/> every few seconds for the metrics.</summary>
internal sealed partial class JobStatisticsSampler(IJobStore jobs, JobStatisticsCache cache, TimeProvider timeProvider, ILogger<JobStatisticsSampler> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                cache.Update(await jobs.Recordings.GetStatisticsAsync(stoppingToken));
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
        [LoggerMessage(1, LogLevel.Warning, "Could not read job statistics for the metrics")]
        public static partial void SampleFailed(ILogger logger, Exception exception);
    }
}

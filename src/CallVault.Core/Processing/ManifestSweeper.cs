using CallVault.Jobs;
using CallVault.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CallVault.Processing;

/// <summary>
/// Every few seconds, rewrites the manifests of recordings that had a chunk stored in the last two minutes. The worker
/// writes a manifest before and after completing each chunk; this repairs the one case that leaves it stale: an instance
/// that dies between completing a chunk and its second write, just after another instance wrote the same manifest.
/// </summary>
public sealed partial class ManifestSweeper(IJobStore jobs, ManifestWriter manifests, TimeProvider timeProvider, ILogger<ManifestSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(2);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, timeProvider, stoppingToken).ConfigureAwait(false);
                foreach (var key in await jobs.Recordings.ListRecentlyStoredRecordingsAsync(timeProvider.GetUtcNow() - Window, stoppingToken).ConfigureAwait(false))
                {
                    if (await jobs.Recordings.GetRecordingAsync(key, stoppingToken).ConfigureAwait(false) is { Chunks: [var first, ..] })
                    {
                        await manifests.WriteAsync(key, RecordingLayout.FolderOf(first.Request.Recording, first.Request.EventTime), completing: null, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.SweepFailed(logger, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not refresh recent manifests")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}

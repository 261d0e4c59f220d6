using CallVault.Jobs;
using CallVault.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CallVault.Processing;

/// <summary>
/// Every few seconds, checks the manifests of recordings that had a chunk stored in the last two minutes (or since shortly
/// before the previous pass, when that was longer ago) and rewrites those that are stale. The worker writes a manifest before completing each
/// chunk, and again after it unless the chunk was the recording's last; this repairs what that leaves stale: an
/// instance that dies between completing a chunk and its second write, just after another instance wrote the same
/// manifest, or a chunk of a recording enqueued while its last known chunk was completing. A manifest that is right
/// costs a read, not a synced write, so a backlog stored at a high rate is not written again every pass.
/// </summary>
public sealed partial class ManifestSweeper(IJobStore jobs, ManifestWriter manifests, TimeProvider timeProvider, ILogger<ManifestSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(2);

    // Completion times come from each instance's clock: a pass looks this far back before the previous one, for commits
    // that were under way when it listed. Never less than the Window, though: clocks more than the overlap apart would
    // otherwise stamp a completion before what the next pass looks at, and that manifest would never be repaired.
    private static readonly TimeSpan Overlap = TimeSpan.FromSeconds(15);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        DateTimeOffset? previousPass = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, timeProvider, stoppingToken).ConfigureAwait(false);
                var now = timeProvider.GetUtcNow();
                var since = previousPass is { } previous && previous - Overlap < now - Window ? previous - Overlap : now - Window;
                foreach (var key in await jobs.Recordings.ListRecentlyStoredRecordingsAsync(since, stoppingToken).ConfigureAwait(false))
                {
                    if (await jobs.Recordings.GetRecordingAsync(key, stoppingToken).ConfigureAwait(false) is { Chunks: [var first, ..] })
                    {
                        await manifests.RefreshAsync(key, RecordingLayout.FolderOf(first.Request.Recording, first.Request.EventTime), stoppingToken).ConfigureAwait(false);
                    }
                }

                previousPass = now;
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

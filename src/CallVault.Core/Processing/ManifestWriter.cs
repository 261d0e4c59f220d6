using System.Collections.Concurrent;
using System.Text.Json;
using CallVault.Jobs;
using CallVault.Storage;

namespace CallVault.Processing;

/// <summary>
/// Writes <c>manifest.json</c> for a recording from what the job store says was stored: the chunks in order with
/// their sizes, SHA-256 and metadata, and the participants. Writes for one recording are serialised in this process;
/// across instances, a writer reads the store again after writing and rewrites while it finds chunks its manifest
/// lacks, so that whichever write lands last, it describes every chunk stored before it.
/// </summary>
public sealed class ManifestWriter(IJobStore jobs, IRecordingStore store, TimeProvider timeProvider)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private const int MaxRounds = 5;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Rewrites the manifest of a recording.</summary>
    /// <param name="recordingKey">The recording.</param>
    /// <param name="folder">Its folder in the store.</param>
    /// <param name="completing">
    /// A chunk whose media and metadata are stored but whose job is not completed yet: the manifest is written before the
    /// job is completed, so that a crash in between is repaired when the chunk is retried.
    /// </param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task WriteAsync(string recordingKey, string folder, ChunkJob? completing, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(recordingKey, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var details = WithCompleted(await jobs.GetRecordingAsync(recordingKey, cancellationToken).ConfigureAwait(false), completing);
            for (var round = 0; details is not null && round < MaxRounds; round++)
            {
                var manifest = RecordingManifest.From(details, timeProvider.GetUtcNow());
                CallVault.Diagnostics.CrashPoint.Hit("manifest.write");
                await store.WriteAsync(RecordingLayout.ManifestPath(folder), JsonSerializer.SerializeToUtf8Bytes(manifest, Json), cancellationToken).ConfigureAwait(false);
                var after = WithCompleted(await jobs.GetRecordingAsync(recordingKey, cancellationToken).ConfigureAwait(false), completing);
                if (after is null || StoredChunks(after).SetEquals(StoredChunks(details)))
                {
                    return;
                }

                details = after;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The store's view, with <paramref name="completing"/> counted as stored.</summary>
    private static RecordingDetails? WithCompleted(RecordingDetails? details, ChunkJob? completing)
    {
        if (details is null || completing is null)
        {
            return details;
        }

        var current = details.Chunks.FirstOrDefault(c => c.Request.DocumentId == completing.Request.DocumentId);
        if (current is null || current.State == ChunkState.Stored)
        {
            return details;
        }

        var summary = details.Summary with
        {
            StoredChunks = details.Summary.StoredChunks + 1,
            DownloadingChunks = Math.Max(0, details.Summary.DownloadingChunks - (current.State == ChunkState.Leased ? 1 : 0)),
            StoredBytes = details.Summary.StoredBytes + (current.Media?.Length ?? 0),
        };
        var chunks = details.Chunks.Select(c => ReferenceEquals(c, current) ? c with { State = ChunkState.Stored, LastError = null } : c).ToList();
        return new RecordingDetails(summary, chunks);
    }

    private static HashSet<string> StoredChunks(RecordingDetails details) =>
        [.. details.Chunks.Where(c => c.State == ChunkState.Stored).Select(c => c.Request.DocumentId)];
}

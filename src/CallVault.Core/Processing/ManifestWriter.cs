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
    public async Task WriteAsync(string recordingKey, string folder, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(recordingKey, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var details = await jobs.GetRecordingAsync(recordingKey, cancellationToken).ConfigureAwait(false);
            for (var round = 0; details is not null && round < MaxRounds; round++)
            {
                var manifest = RecordingManifest.From(details, timeProvider.GetUtcNow());
                await store.WriteAsync(RecordingLayout.ManifestPath(folder), JsonSerializer.SerializeToUtf8Bytes(manifest, Json), cancellationToken).ConfigureAwait(false);
                var after = await jobs.GetRecordingAsync(recordingKey, cancellationToken).ConfigureAwait(false);
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

    private static HashSet<string> StoredChunks(RecordingDetails details) =>
        [.. details.Chunks.Where(c => c.State == ChunkState.Stored).Select(c => c.Request.DocumentId)];
}

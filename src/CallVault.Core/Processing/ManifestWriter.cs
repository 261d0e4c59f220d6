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

    // One gate per recording being written now, counted by its users and removed by the last one, so that the map
    // holds only recordings in flight, not every recording this process has ever seen.
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    /// <summary>Recordings this writer holds a lock entry for: only those being written now.</summary>
    internal int LockEntries
    {
        get
        {
            lock (_gates)
            {
                return _gates.Count;
            }
        }
    }

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
        var gate = Enter(recordingKey);
        try
        {
            await gate.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(recordingKey, gate);
            throw;
        }

        try
        {
            var details = WithCompleted(await jobs.Recordings.GetRecordingAsync(recordingKey, cancellationToken).ConfigureAwait(false), completing);
            for (var round = 0; details is not null && round < MaxRounds; round++)
            {
                var manifest = RecordingManifest.From(details, timeProvider.GetUtcNow());
                CallVault.Diagnostics.CrashPoint.Hit("manifest.write");
                await store.ReplaceAsync(RecordingLayout.ManifestPath(folder), JsonSerializer.SerializeToUtf8Bytes(manifest, Json), cancellationToken).ConfigureAwait(false);
                var after = WithCompleted(await jobs.Recordings.GetRecordingAsync(recordingKey, cancellationToken).ConfigureAwait(false), completing);
                if (after is null || StoredChunks(after).SetEquals(StoredChunks(details)))
                {
                    return;
                }

                details = after;
            }
        }
        finally
        {
            gate.Semaphore.Release();
            Leave(recordingKey, gate);
        }
    }

    private Gate Enter(string recordingKey)
    {
        lock (_gates)
        {
            if (!_gates.TryGetValue(recordingKey, out var gate))
            {
                gate = new Gate();
                _gates.Add(recordingKey, gate);
            }

            gate.Users++;
            return gate;
        }
    }

    private void Leave(string recordingKey, Gate gate)
    {
        lock (_gates)
        {
            if (--gate.Users == 0)
            {
                _gates.Remove(recordingKey);
                gate.Semaphore.Dispose();
            }
        }
    }

    private sealed class Gate
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
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

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
    /// job is completed, so that a crash in between is repaired when the chunk is retried. Its media, metadata and
    /// metadata JSON, when set, are what the completion will record (they are recorded in the same commit).
    /// </param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether the manifest written lists every chunk of the recording as stored (with <paramref name="completing"/>).</returns>
    public async Task<bool> WriteAsync(string recordingKey, string folder, ChunkJob? completing, CancellationToken cancellationToken)
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
                if (after is null || await jobs.Retention.GetTombstoneAsync(recordingKey, cancellationToken).ConfigureAwait(false) is not null)
                {
                    // Deleted while this was being written (the rows read before the deletion completed): the deleter's
                    // last manifest delete may have come before this write, so this writer removes what it wrote.
                    await store.DeleteAsync(RecordingLayout.ManifestPath(folder), cancellationToken).ConfigureAwait(false);
                    return false;
                }

                if (StoredChunks(after).SetEquals(StoredChunks(details)))
                {
                    return after.Chunks.Count == StoredChunks(after).Count;
                }

                details = after;
            }

            return false;
        }
        finally
        {
            gate.Semaphore.Release();
            Leave(recordingKey, gate);
        }
    }

    /// <summary>
    /// Rewrites the manifest of a recording only when the one in the store does not describe what the job store says
    /// (a chunk's state, media or metadata differs, or it is missing or unreadable): a repair pass that costs a read, not
    /// a synced write, for the manifests that are already right.
    /// </summary>
    /// <returns>Whether the manifest was rewritten.</returns>
    public async Task<bool> RefreshAsync(string recordingKey, string folder, CancellationToken cancellationToken)
    {
        var details = await jobs.Recordings.GetRecordingAsync(recordingKey, cancellationToken).ConfigureAwait(false);
        if (details is null || await ReadManifestAsync(folder, cancellationToken).ConfigureAwait(false) is { } stored
            && Describes(stored, RecordingManifest.From(details, timeProvider.GetUtcNow())))
        {
            return false;
        }

        await WriteAsync(recordingKey, folder, completing: null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task<RecordingManifest?> ReadManifestAsync(string folder, CancellationToken cancellationToken)
    {
        var stream = await store.OpenReadAsync(RecordingLayout.ManifestPath(folder), cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync<RecordingManifest>(stream, Json, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                // A torn or foreign file: rewriting it is the repair.
                return null;
            }
        }
    }

    private static bool Describes(RecordingManifest stored, RecordingManifest current) =>
        stored.Status == current.Status
        && stored.StoredBytes == current.StoredBytes
        && stored.Chunks is not null
        && stored.Chunks.Select(ChunkFacts).SequenceEqual(current.Chunks.Select(ChunkFacts));

    private static (string DocumentId, string State, string? Media, string? Metadata, string? LastError) ChunkFacts(ManifestChunk chunk) =>
        (chunk.DocumentId, chunk.State, chunk.Media?.Sha256, chunk.Metadata?.Sha256, chunk.LastError);

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
            StoredBytes = details.Summary.StoredBytes + ((completing.Media ?? current.Media)?.Length ?? 0),
        };
        var completed = current with
        {
            State = ChunkState.Stored,
            LastError = null,
            Media = completing.Media ?? current.Media,
            Metadata = completing.Metadata ?? current.Metadata,
            MetadataJson = completing.MetadataJson ?? current.MetadataJson,
        };
        var chunks = details.Chunks.Select(c => ReferenceEquals(c, current) ? completed : c).ToList();
        return new RecordingDetails(summary, chunks);
    }

    private static HashSet<string> StoredChunks(RecordingDetails details) =>
        [.. details.Chunks.Where(c => c.State == ChunkState.Stored).Select(c => c.Request.DocumentId)];
}

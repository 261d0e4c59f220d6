using System.Collections.Concurrent;

namespace CallVault.Emulator.Recordings;

/// <summary>The recordings the emulator holds. Objects of an expired or deleted chunk answer 404, as in ACS.</summary>
public sealed class RecordingStore(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, EmulatedRecording> _recordings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EmulatedChunk> _chunks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _deleted = new(StringComparer.Ordinal);

    /// <summary>Every recording, newest last.</summary>
    public IReadOnlyList<EmulatedRecording> All => [.. _recordings.Values.OrderBy(r => r.StartTime + r.Duration)];

    /// <summary>Adds a recording and its chunks.</summary>
    public void Add(EmulatedRecording recording)
    {
        ArgumentNullException.ThrowIfNull(recording);
        _recordings[recording.RecordingId] = recording;
        foreach (var chunk in recording.Chunks)
        {
            _chunks[chunk.DocumentId] = chunk;
        }
    }

    /// <summary>A recording by id, expired or not.</summary>
    public EmulatedRecording? Find(string recordingId) => _recordings.GetValueOrDefault(recordingId);

    /// <summary>A chunk that can still be downloaded: known, not deleted, not past retention.</summary>
    public bool TryGetAvailable(string documentId, out EmulatedChunk chunk)
    {
        if (_chunks.TryGetValue(documentId, out chunk!) && !_deleted.ContainsKey(documentId) && timeProvider.GetUtcNow() < chunk.Recording.ExpiresAt)
        {
            return true;
        }

        chunk = null!;
        return false;
    }

    /// <summary>Whether a chunk was deleted through its delete location.</summary>
    public bool IsDeleted(string documentId) => _deleted.ContainsKey(documentId);

    /// <summary>Deletes a chunk's media and metadata; false when it is unknown, expired or already deleted.</summary>
    public bool Delete(string documentId) => TryGetAvailable(documentId, out _) && _deleted.TryAdd(documentId, 0);
}

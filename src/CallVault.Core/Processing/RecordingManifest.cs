using CallVault.Acs.Recordings;
using CallVault.Jobs;

namespace CallVault.Processing;

/// <summary>The content of a recording's <c>manifest.json</c>, and of the API's view of a recording.</summary>
public sealed record RecordingManifest
{
    /// <summary>The recording's key.</summary>
    public required string Key { get; init; }

    /// <summary>The recording id.</summary>
    public string? RecordingId { get; init; }

    /// <summary>The call id.</summary>
    public string? CallId { get; init; }

    /// <summary>The server call id.</summary>
    public string? ServerCallId { get; init; }

    /// <summary>When the recording started.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>The recording's length in milliseconds.</summary>
    public long? DurationMs { get; init; }

    /// <summary>Audio or AudioVideo.</summary>
    public string? ContentType { get; init; }

    /// <summary>Mixed or Unmixed.</summary>
    public string? ChannelType { get; init; }

    /// <summary>Wav, Mp3 or Mp4.</summary>
    public string? FormatType { get; init; }

    /// <summary><c>stored</c>, <c>partial</c>, <c>pending</c> or <c>failed</c>.</summary>
    public required string Status { get; init; }

    /// <summary>Bytes of media stored.</summary>
    public long StoredBytes { get; init; }

    /// <summary>Every participant of any chunk, with their channel in unmixed recordings.</summary>
    public required IReadOnlyList<RecordingParticipant> Participants { get; init; }

    /// <summary>The chunks in index order.</summary>
    public required IReadOnlyList<ManifestChunk> Chunks { get; init; }

    /// <summary>When this manifest was written.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Builds the manifest from the store's view.</summary>
    public static RecordingManifest From(RecordingDetails details, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(details);
        var info = details.Summary.Info;
        var chunks = details.Chunks.Select(ManifestChunk.From).ToList();
        return new RecordingManifest
        {
            Key = details.Summary.Key,
            RecordingId = info.RecordingId,
            CallId = info.CallId,
            ServerCallId = info.ServerCallId,
            StartTime = info.StartTime,
            DurationMs = info.DurationMs,
            ContentType = info.ContentType,
            ChannelType = info.ChannelType,
            FormatType = info.FormatType,
            Status = details.Summary.Status,
            StoredBytes = details.Summary.StoredBytes,
            Participants = [.. chunks.SelectMany(c => c.Participants).DistinctBy(p => p.ParticipantId)],
            Chunks = chunks,
            UpdatedAt = now,
        };
    }
}

/// <summary>One chunk in a manifest.</summary>
public sealed record ManifestChunk
{
    /// <summary>Position in the recording.</summary>
    public long Index { get; init; }

    /// <summary>The ACS document id.</summary>
    public required string DocumentId { get; init; }

    /// <summary>Why the chunk ended.</summary>
    public string? EndReason { get; init; }

    /// <summary>The job state.</summary>
    public required string State { get; init; }

    /// <summary>
    /// The last error, for a chunk that is not stored; for a stored chunk, what was left undone on purpose (e.g. not
    /// deleted from ACS because the event's delete location named another object), else null.
    /// </summary>
    public string? LastError { get; init; }

    /// <summary>The media file.</summary>
    public StoredObjectInfo? Media { get; init; }

    /// <summary>The metadata file.</summary>
    public StoredObjectInfo? Metadata { get; init; }

    /// <summary>When the chunk starts.</summary>
    public DateTimeOffset? ChunkStartTime { get; init; }

    /// <summary>The chunk's length in milliseconds.</summary>
    public double? ChunkDurationMs { get; init; }

    /// <summary>Participants, with channels for unmixed audio.</summary>
    public required IReadOnlyList<RecordingParticipant> Participants { get; init; }

    /// <summary>When the chunk was deleted from ACS.</summary>
    public DateTimeOffset? DeletedFromAcsAt { get; init; }

    /// <summary>Builds the entry for a job.</summary>
    public static ManifestChunk From(ChunkJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        RecordingMetadata? metadata = null;
        if (job.MetadataJson is { } json)
        {
            try
            {
                metadata = RecordingMetadata.Parse(System.Text.Encoding.UTF8.GetBytes(json));
            }
            catch (InvalidDataException)
            {
                // Stored as received; an unreadable document only leaves the derived fields empty.
            }
        }

        return new ManifestChunk
        {
            Index = job.Request.Index,
            DocumentId = job.Request.DocumentId,
            EndReason = job.Request.EndReason,
            State = job.State.ToString(),
            // Completing a chunk clears its last error, so a stored chunk only has one when it was completed with a note.
            LastError = job.LastError,
            Media = job.Media,
            Metadata = job.Metadata,
            ChunkStartTime = metadata?.ChunkStartTime,
            ChunkDurationMs = metadata?.ChunkDuration?.TotalMilliseconds,
            Participants = metadata?.Participants ?? [],
            DeletedFromAcsAt = job.DeletedFromAcsAt,
        };
    }

}

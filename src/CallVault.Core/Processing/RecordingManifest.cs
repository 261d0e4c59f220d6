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

    /// <summary>
    /// The recording's active legal hold, in the API's view only: a hold changes without the manifest being rewritten,
    /// so the manifest files never carry it (null is left out).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Retention.LegalHold? Hold { get; init; }

    /// <summary>Builds the manifest from the store's view.</summary>
    /// <param name="details">The recording and its chunks.</param>
    /// <param name="now">When the manifest is written.</param>
    /// <param name="acsRetention">
    /// ACS's retention, to show each chunk's <see cref="ManifestChunk.AcsExpiresAt"/> and time left (the API does; the
    /// manifest files do not, since time left goes stale); null leaves them out.
    /// </param>
    public static RecordingManifest From(RecordingDetails details, DateTimeOffset now, TimeSpan? acsRetention = null)
    {
        ArgumentNullException.ThrowIfNull(details);
        var info = details.Summary.Info;
        var chunks = details.Chunks.Select(c => ManifestChunk.From(c, now, acsRetention)).ToList();
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

    /// <summary>When Event Grid says the chunk's event happened; ACS's retention counts from about then.</summary>
    public DateTimeOffset EventTime { get; init; }

    /// <summary>
    /// <c>recovered</c> when the chunk reached CallVault only through an Event Grid dead-letter blob, <c>lost</c> when
    /// that blob came after ACS had deleted it (never downloaded); null for a chunk the webhook delivered.
    /// </summary>
    public string? DeadLetter { get; init; }

    /// <summary>When dead-letter recovery found the chunk; null unless <see cref="DeadLetter"/> is set.</summary>
    public DateTimeOffset? RecoveredAt { get; init; }

    /// <summary>When ACS deletes (or deleted) the chunk: the event time plus ACS's retention. Only in API answers.</summary>
    public DateTimeOffset? AcsExpiresAt { get; init; }

    /// <summary>Seconds left before ACS deletes the chunk, 0 once it has. Only in API answers.</summary>
    public long? AcsSecondsLeft { get; init; }

    /// <summary>Builds the entry for a job.</summary>
    public static ManifestChunk From(ChunkJob job) => From(job, now: default, acsRetention: null);

    /// <summary>Builds the entry for a job, with its time left in ACS when <paramref name="acsRetention"/> is given.</summary>
    public static ManifestChunk From(ChunkJob job, DateTimeOffset now, TimeSpan? acsRetention)
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

        DateTimeOffset? expiresAt = acsRetention is { } retention ? job.Request.EventTime + retention : null;
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
            EventTime = job.Request.EventTime,
            DeadLetter = job.DeadLetter?.Outcome.ToString().ToLowerInvariant(),
            RecoveredAt = job.DeadLetter?.MarkedAt,
            AcsExpiresAt = expiresAt,
            AcsSecondsLeft = expiresAt is { } end ? (long)Math.Max(0, (end - now).TotalSeconds) : null,
        };
    }

}

namespace CallVault.Jobs;

/// <summary>Where a chunk stands.</summary>
public enum ChunkState
{
    /// <summary>Waiting to be downloaded (or to be deleted from ACS), possibly after a failed attempt.</summary>
    Pending,

    /// <summary>A worker holds a lease on it.</summary>
    Leased,

    /// <summary>Media and metadata are stored (and deleted from ACS when that is configured).</summary>
    Stored,

    /// <summary>Given up on; <see cref="ChunkJob.LastError"/> says why. Can be retried by hand.</summary>
    DeadLettered,
}

/// <summary>A recording chunk as the webhook accepted it: what to download, and for which recording.</summary>
public sealed record ChunkRequest
{
    /// <summary>The ACS document id; the chunk's identity.</summary>
    public required string DocumentId { get; init; }

    /// <summary>The recording the chunk belongs to.</summary>
    public required RecordingInfo Recording { get; init; }

    /// <summary>Position in the recording, from 0.</summary>
    public long Index { get; init; }

    /// <summary>Why the chunk ended (<c>SessionEnded</c>, <c>ChunkMaximumSizeExceeded</c>, ...).</summary>
    public string? EndReason { get; init; }

    /// <summary>The media URL from a GA event; null for a 2021-preview event, resolved on the ACS endpoint at download time.</summary>
    public Uri? ContentLocation { get; init; }

    /// <summary>The metadata URL from a GA event; null for a 2021-preview event.</summary>
    public Uri? MetadataLocation { get; init; }

    /// <summary>The delete URL; null for 2021-preview events, which have none.</summary>
    public Uri? DeleteLocation { get; init; }

    /// <summary>When Event Grid says the event happened; ACS's 24-hour retention counts from about then.</summary>
    public required DateTimeOffset EventTime { get; init; }

    /// <summary>Set when the chunk was refused at intake (a host that is not allowed): stored dead-lettered with this reason.</summary>
    public string? RejectedReason { get; init; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the span that enqueued the chunk (null when tracing was off), stored with it so
    /// that the download's spans join the webhook delivery's trace. Never a secret: a trace id, a span id and flags.
    /// </summary>
    public string? TraceParent { get; init; }
}

/// <summary>What the event says about a recording.</summary>
public sealed record RecordingInfo
{
    /// <summary>The grouping key: the recording id, else the server call id, else the call id.</summary>
    public required string Key { get; init; }

    /// <summary>The recording id from the subject.</summary>
    public string? RecordingId { get; init; }

    /// <summary>The call id from the subject.</summary>
    public string? CallId { get; init; }

    /// <summary>The server call id from the subject.</summary>
    public string? ServerCallId { get; init; }

    /// <summary>The ACS resource (the event's topic).</summary>
    public string? Topic { get; init; }

    /// <summary>When the recording started.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>The recording's length in milliseconds.</summary>
    public long? DurationMs { get; init; }

    /// <summary><c>Audio</c> or <c>AudioVideo</c>.</summary>
    public string? ContentType { get; init; }

    /// <summary><c>Mixed</c> or <c>Unmixed</c>.</summary>
    public string? ChannelType { get; init; }

    /// <summary><c>Wav</c>, <c>Mp3</c> or <c>Mp4</c>.</summary>
    public string? FormatType { get; init; }

    /// <summary>Why the session ended.</summary>
    public string? SessionEndReason { get; init; }
}

/// <summary>A chunk job as the store holds it.</summary>
public sealed record ChunkJob
{
    /// <summary>What was asked for.</summary>
    public required ChunkRequest Request { get; init; }

    /// <summary>Where it stands.</summary>
    public required ChunkState State { get; init; }

    /// <summary>Attempts started so far.</summary>
    public int Attempts { get; init; }

    /// <summary>Why the last attempt failed.</summary>
    public string? LastError { get; init; }

    /// <summary>When it was first accepted.</summary>
    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>Not before this time is it attempted again.</summary>
    public DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>The stored media, once it is.</summary>
    public StoredObjectInfo? Media { get; init; }

    /// <summary>The stored metadata document, once it is.</summary>
    public StoredObjectInfo? Metadata { get; init; }

    /// <summary>The metadata document's JSON, once stored.</summary>
    public string? MetadataJson { get; init; }

    /// <summary>When the chunk was deleted from ACS, when it was.</summary>
    public DateTimeOffset? DeletedFromAcsAt { get; init; }

    /// <summary>When media and metadata were both stored.</summary>
    public DateTimeOffset? StoredAt { get; init; }

    /// <summary>
    /// Set when the chunk first became known from an Event Grid dead-letter blob rather than the webhook: recovered
    /// (downloaded as usual), or lost (announced after ACS's retention ran out, so never downloaded).
    /// </summary>
    public ChunkDeadLetterOrigin? DeadLetter { get; init; }
}

/// <summary>How a chunk came back through dead-letter recovery.</summary>
/// <param name="Outcome">Recovered or lost.</param>
/// <param name="MarkedAt">When recovery found it.</param>
/// <param name="BlobName">The dead-letter blob that announced it.</param>
public sealed record ChunkDeadLetterOrigin(Recovery.DeadLetterChunkOutcome Outcome, DateTimeOffset MarkedAt, string BlobName);

/// <summary>An object CallVault stored, as the manifest and the API describe it.</summary>
/// <param name="Path">The store-relative path, e.g. <c>2026/03/03/{callId}/{recordingId}/chunk-000.wav</c>.</param>
/// <param name="Length">Bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256.</param>
/// <param name="ContentType">The MIME type ACS sent.</param>
public sealed record StoredObjectInfo(string Path, long Length, string Sha256, string? ContentType);

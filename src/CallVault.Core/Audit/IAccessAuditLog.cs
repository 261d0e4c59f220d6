namespace CallVault.Audit;

/// <summary>
/// The access audit record: who read which recording's media, metadata or manifest (and later, who changed what), when,
/// how many bytes were sent and from where. Kept in the job database as a role of its own beside the download queue;
/// implementations share its connections.
/// </summary>
/// <remarks>
/// Contract every implementation honours (checked by the access-audit contract tests):
/// <list type="bullet">
/// <item><see cref="AppendAsync"/> returns only after the records are durably committed, each stamped with the store's
/// clock and a new <see cref="AccessAuditRecord.Id"/>.</item>
/// <item><see cref="ListAsync"/> gives the newest first (by <see cref="AccessAuditRecord.At"/>, then by id), and a page's
/// <see cref="AccessAuditPage.Next"/> cursor continues exactly after its last record, whatever is appended meanwhile.</item>
/// <item>Any text is accepted: NUL characters and unpaired surrogates are replaced by U+FFFD and each field is cut to
/// <see cref="AccessAuditLimits.MaxTextLength"/>, so recording an access never fails on what the request held.</item>
/// </list>
/// </remarks>
public interface IAccessAuditLog
{
    /// <summary>Durably appends records, in one transaction.</summary>
    Task AppendAsync(IReadOnlyList<AccessAuditEntry> entries, CancellationToken cancellationToken);

    /// <summary>One page of records matching <paramref name="query"/>, newest first.</summary>
    /// <exception cref="ArgumentException">The query's cursor is not one this log gave out.</exception>
    Task<AccessAuditPage> ListAsync(AccessAuditQuery query, CancellationToken cancellationToken);
}

/// <summary>What was done, as <see cref="AccessAuditEntry.Action"/> spells it.</summary>
public static class AccessAuditActions
{
    /// <summary>A chunk's media was read.</summary>
    public const string MediaRead = "media.read";

    /// <summary>A chunk's metadata document was read.</summary>
    public const string MetadataRead = "metadata.read";

    /// <summary>A recording's manifest (its chunks, participants and metadata) was read.</summary>
    public const string ManifestRead = "manifest.read";

    /// <summary>A chunk's waveform (peaks of its audio, which show when each participant spoke) was read.</summary>
    public const string WaveformRead = "waveform.read";

    /// <summary>A dead-lettered chunk was made due again.</summary>
    public const string Retry = "retry";

    /// <summary>A recording was put under legal hold (refusals are recorded too, with their status).</summary>
    public const string HoldSet = "hold.set";

    /// <summary>A recording's legal hold was cleared.</summary>
    public const string HoldClear = "hold.clear";

    /// <summary>
    /// A recording was deleted, by hand (the caller) or by retention (caller <c>retention</c>); a deletion refused by a
    /// hold is recorded too, with status 409.
    /// </summary>
    public const string RecordingDelete = "recording.delete";
}

/// <summary>An access to record, as handed to <see cref="IAccessAuditLog.AppendAsync"/>; the store adds the time.</summary>
public sealed record AccessAuditEntry
{
    /// <summary>Who: the caller's name (an API key's configured name, never the key itself).</summary>
    public required string Who { get; init; }

    /// <summary>What was done: one of <see cref="AccessAuditActions"/> (others may follow, e.g. <c>hold.set</c>).</summary>
    public required string Action { get; init; }

    /// <summary>The recording's key, when the action concerns one.</summary>
    public string? RecordingKey { get; init; }

    /// <summary>The chunk's document id (or another object's id), when the action concerns one.</summary>
    public string? DocumentId { get; init; }

    /// <summary>The chunk's index within the recording, when the action concerns one.</summary>
    public long? ChunkIndex { get; init; }

    /// <summary>
    /// Bytes of the answer's body handed to the connection: for a Range answer its range, for an aborted read those handed
    /// over before the abort (which may include some the caller never received: the count errs towards more).
    /// </summary>
    public long Bytes { get; init; }

    /// <summary>The caller's address as the service saw it, after trusted forwarded headers were applied.</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>The HTTP status of the answer (200, 206, 404, ...).</summary>
    public int Status { get; init; }

    /// <summary>Whether the answer ended before it was complete: the caller went away, the service stopped or the store failed.</summary>
    public bool Aborted { get; init; }
}

/// <summary>A kept record: the entry as stored, with its id and time.</summary>
public sealed record AccessAuditRecord
{
    /// <summary>The record's id (32 hex digits), unique in the log.</summary>
    public required string Id { get; init; }

    /// <summary>When it was appended, by the store's clock (millisecond precision).</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The entry (its text cleaned and cut as described on <see cref="IAccessAuditLog"/>).</summary>
    public required AccessAuditEntry Entry { get; init; }
}

/// <summary>Which records <see cref="IAccessAuditLog.ListAsync"/> returns.</summary>
public sealed record AccessAuditQuery
{
    /// <summary>Only records at or after this time. Default none.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only records before this time. Default none.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Only records of this caller (exact name). Default none.</summary>
    public string? Who { get; init; }

    /// <summary>Only records about this recording (exact key). Default none.</summary>
    public string? RecordingKey { get; init; }

    /// <summary>Only records older than the one this cursor (a page's <see cref="AccessAuditPage.Next"/>) names. Default none.</summary>
    public string? Before { get; init; }

    /// <summary>At most this many records: clamped to 1-1,000; default 100.</summary>
    public int Take { get; init; } = 100;
}

/// <summary>One page of records, newest first.</summary>
/// <param name="Records">The records.</param>
/// <param name="Next">The cursor for the next (older) page; null when this page holds the last matching record.</param>
public sealed record AccessAuditPage(IReadOnlyList<AccessAuditRecord> Records, string? Next);

/// <summary>How much of a record's text is kept.</summary>
public static class AccessAuditLimits
{
    /// <summary>Names, actions, keys, ids and addresses are kept up to 256 characters each (they are indexed).</summary>
    public const int MaxTextLength = Events.StoredText.MaxIndexedLength;
}

namespace CallVault.Retention;

/// <summary>
/// Retention and legal hold in the job database: holds (set and cleared, the history kept), the deletion progress of
/// recordings being deleted (so that a deletion a crash interrupts is finished on restart), tombstones of deleted
/// recordings, and the lease that lets one instance at a time run the retention sweep. A role of the job database;
/// implementations share its connections.
/// </summary>
/// <remarks>
/// Contract every implementation honours (checked by the retention contract suite on every backend):
/// <list type="bullet">
/// <item>A recording has at most one active hold; clearing it keeps it, with who cleared it and when.</item>
/// <item><see cref="BeginDeletionAsync"/> refuses a held recording and one with a chunk that is not stored and verified
/// (media and metadata each with a SHA-256), and a hold cannot be set on a recording being deleted: the two decide under
/// the same row lock, so they never both succeed.</item>
/// <item>A recording once marked for deletion stays marked until <see cref="FinishDeletionAsync"/>; beginning again
/// (a restart, a second instance) resumes the same deletion.</item>
/// <item><see cref="CompleteDeletionAsync"/> writes one tombstone per recording however often it runs.</item>
/// <item>At most one owner holds the sweep lease until it expires; its owner may renew it.</item>
/// </list>
/// </remarks>
public interface IRetentionStore
{
    /// <summary>Puts a recording under legal hold, or returns the hold it is already under (unchanged).</summary>
    /// <param name="recordingKey">The recording.</param>
    /// <param name="reason">Why; required, at most <see cref="LegalHold.MaxReasonLength"/> characters.</param>
    /// <param name="who">Who set it (an API key's name).</param>
    /// <param name="cancellationToken">Cancels the change.</param>
    Task<HoldChange> SetHoldAsync(string recordingKey, string reason, string who, CancellationToken cancellationToken);

    /// <summary>Clears a recording's active hold, keeping it in the history with who cleared it and when.</summary>
    /// <returns>The hold cleared, or null when there was none.</returns>
    Task<LegalHold?> ClearHoldAsync(string recordingKey, string who, CancellationToken cancellationToken);

    /// <summary>A recording's active hold, or null.</summary>
    Task<LegalHold?> GetHoldAsync(string recordingKey, CancellationToken cancellationToken);

    /// <summary>Holds, most recently set first: only active ones, or also cleared ones; <paramref name="take"/> is clamped to 1-1,000.</summary>
    Task<IReadOnlyList<LegalHold>> ListHoldsAsync(bool includeCleared, int take, CancellationToken cancellationToken);

    /// <summary>How many recordings are under an active hold.</summary>
    Task<long> CountActiveHoldsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Recordings retention may delete: every chunk stored and verified, the last stored before <paramref name="storedBefore"/>,
    /// no active hold, not being deleted, no tombstone (rows beside one are not deleted twice). Oldest first; <paramref name="take"/> is clamped to 1-1,000.
    /// </summary>
    Task<IReadOnlyList<string>> ListDueAsync(DateTimeOffset storedBefore, int take, CancellationToken cancellationToken);

    /// <summary>
    /// The newest time the database recorded anything arriving or being stored (a chunk stored or received, an event
    /// received), by the clock of the instance that wrote it; null when it is empty. The sweep compares its own clock
    /// with it to notice a clock that jumped ahead.
    /// </summary>
    Task<DateTimeOffset?> GetNewestActivityAsync(CancellationToken cancellationToken);

    /// <summary>Recordings marked for deletion whose deletion has not finished (a crash, another instance now gone).</summary>
    Task<IReadOnlyList<RetentionDeletion>> ListUnfinishedDeletionsAsync(int take, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a recording for deletion, before anything is removed from the recording store, or finds the mark an earlier
    /// attempt left (then the deletion resumes under its first rule).
    /// </summary>
    /// <param name="recordingKey">The recording.</param>
    /// <param name="rule">Why it is deleted: <c>retention:KeepDays=N</c> or <c>manual:{who}</c>.</param>
    /// <param name="storedBefore">For retention: the recording must have been stored wholly before this time; null for a deletion by hand.</param>
    /// <param name="cancellationToken">Cancels the change.</param>
    Task<DeletionStart> BeginDeletionAsync(string recordingKey, string rule, DateTimeOffset? storedBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Once the recording's files are deleted: writes its tombstone (once) and removes its rows, in one write unit. The mark
    /// stays, so that the manifest can be deleted once more after the rows are gone.
    /// </summary>
    /// <returns>The tombstone, and whether this call wrote it (false: an earlier attempt or another instance did).</returns>
    Task<(Tombstone Tombstone, bool Written)> CompleteDeletionAsync(string recordingKey, CancellationToken cancellationToken);

    /// <summary>Removes the deletion mark: nothing is left to do for the recording.</summary>
    Task FinishDeletionAsync(string recordingKey, CancellationToken cancellationToken);

    /// <summary>A deleted recording's tombstone, or null.</summary>
    Task<Tombstone?> GetTombstoneAsync(string recordingKey, CancellationToken cancellationToken);

    /// <summary>Tombstones, most recently deleted first; <paramref name="take"/> is clamped to 1-1,000.</summary>
    Task<IReadOnlyList<Tombstone>> ListTombstonesAsync(int take, CancellationToken cancellationToken);

    /// <summary>Takes or renews the retention sweep's lease for <paramref name="duration"/> from now.</summary>
    /// <returns>Whether <paramref name="owner"/> holds the lease now.</returns>
    Task<bool> TryAcquireLeaseAsync(string owner, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives the lease up, if <paramref name="owner"/> holds it.</summary>
    Task ReleaseLeaseAsync(string owner, CancellationToken cancellationToken);
}

/// <summary>A legal hold on a recording.</summary>
public sealed record LegalHold
{
    /// <summary>The longest reason kept: 500 characters.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>The recording held.</summary>
    public required string RecordingKey { get; init; }

    /// <summary>Why it is held.</summary>
    public required string Reason { get; init; }

    /// <summary>Who set it.</summary>
    public required string SetBy { get; init; }

    /// <summary>Since when.</summary>
    public required DateTimeOffset SetAt { get; init; }

    /// <summary>Who cleared it; null while it is active.</summary>
    public string? ClearedBy { get; init; }

    /// <summary>When it was cleared; null while it is active.</summary>
    public DateTimeOffset? ClearedAt { get; init; }
}

/// <summary>What <see cref="IRetentionStore.SetHoldAsync"/> did.</summary>
public enum HoldOutcome
{
    /// <summary>The hold is set now.</summary>
    Set,

    /// <summary>The recording was already held; that hold is returned unchanged.</summary>
    AlreadyHeld,

    /// <summary>No such recording.</summary>
    NotFound,

    /// <summary>The recording is being deleted (or was): too late to hold it.</summary>
    Deleting,
}

/// <summary>The outcome of setting a hold, and the hold in force when there is one.</summary>
public sealed record HoldChange(HoldOutcome Outcome, LegalHold? Hold);

/// <summary>What <see cref="IRetentionStore.BeginDeletionAsync"/> found.</summary>
public enum DeletionOutcome
{
    /// <summary>Marked now; go on deleting.</summary>
    Started,

    /// <summary>An earlier attempt marked it; go on deleting under its rule.</summary>
    Resumed,

    /// <summary>No such recording (and no tombstone).</summary>
    NotFound,

    /// <summary>Already deleted: its tombstone exists.</summary>
    AlreadyDeleted,

    /// <summary>Under legal hold: nothing is deleted.</summary>
    Held,

    /// <summary>A chunk is not stored and verified (pending, downloading, failed), or none is: nothing is deleted.</summary>
    NotVerified,

    /// <summary>Stored too recently for the retention rule (a retention deletion only).</summary>
    NotDue,
}

/// <summary>A recording marked for deletion.</summary>
/// <param name="RecordingKey">The recording.</param>
/// <param name="Rule">Why it is deleted.</param>
/// <param name="Folder">Its folder in the recording store (where the manifest is).</param>
/// <param name="StartedAt">When it was marked.</param>
public sealed record RetentionDeletion(string RecordingKey, string Rule, string Folder, DateTimeOffset StartedAt);

/// <summary>The outcome of beginning a deletion.</summary>
/// <param name="Outcome">Whether to go on.</param>
/// <param name="Deletion">The mark, when the deletion goes on.</param>
/// <param name="Hold">The hold that refused it, for <see cref="DeletionOutcome.Held"/>.</param>
public sealed record DeletionStart(DeletionOutcome Outcome, RetentionDeletion? Deletion = null, LegalHold? Hold = null);

/// <summary>What is kept of a deleted recording: its ids, what its files were, when and why it was deleted.</summary>
public sealed record Tombstone
{
    /// <summary>The recording's key.</summary>
    public required string RecordingKey { get; init; }

    /// <summary>The ACS recording id.</summary>
    public string? RecordingId { get; init; }

    /// <summary>The call id.</summary>
    public string? CallId { get; init; }

    /// <summary>The server call id.</summary>
    public string? ServerCallId { get; init; }

    /// <summary>When the recording started.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>When it was deleted.</summary>
    public required DateTimeOffset DeletedAt { get; init; }

    /// <summary>Why: <c>retention:KeepDays=N</c> or <c>manual:{who}</c>.</summary>
    public required string Rule { get; init; }

    /// <summary>Media bytes deleted.</summary>
    public long MediaBytes { get; init; }

    /// <summary>The chunks, in index order.</summary>
    public required IReadOnlyList<TombstoneChunk> Chunks { get; init; }
}

/// <summary>A deleted chunk: what its files were.</summary>
public sealed record TombstoneChunk
{
    /// <summary>The ACS document id.</summary>
    public required string DocumentId { get; init; }

    /// <summary>Its position in the recording, from 0.</summary>
    public long Index { get; init; }

    /// <summary>The media's store path.</summary>
    public string? MediaPath { get; init; }

    /// <summary>The media's length in bytes.</summary>
    public long? MediaLength { get; init; }

    /// <summary>The media's SHA-256 (hex).</summary>
    public string? MediaSha256 { get; init; }

    /// <summary>The metadata document's length in bytes.</summary>
    public long? MetadataLength { get; init; }

    /// <summary>The metadata document's SHA-256 (hex).</summary>
    public string? MetadataSha256 { get; init; }

    /// <summary>
    /// True when the media was exported to the customer's own container (Bring Your Own Storage): CallVault never deletes
    /// it, so it is still there; only CallVault's metadata and manifest were deleted.
    /// </summary>
    public bool MediaKeptInCustomerStorage { get; init; }
}

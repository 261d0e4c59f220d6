namespace CallVault.Recovery;

/// <summary>
/// Dead-letter recovery's state in the job database: the lease that lets one instance at a time poll the dead-letter
/// container, which blobs were read to the end, and which chunks came back through a dead-letter blob (recovered) or
/// came back too late for ACS's retention (lost). A role of the job database beside the download queue; implementations
/// share its connections.
/// </summary>
/// <remarks>
/// Contract every implementation honours (checked by the dead-letter recovery contract suite on every backend):
/// <list type="bullet">
/// <item>At most one owner holds the lease until it expires; its owner may renew it; once expired anyone may take it.</item>
/// <item>A blob is done only for the exact ETag recorded: the same name with another ETag (rewritten) is not done.</item>
/// <item><see cref="MarkChunksAsync"/> marks only chunks the job database does not know yet, and marks each chunk once:
/// marking again (a blob read a second time after a crash) changes nothing.</item>
/// </list>
/// </remarks>
public interface IDeadLetterRecoveryStore
{
    /// <summary>Takes or renews the polling lease for <paramref name="duration"/> from now.</summary>
    /// <returns>Whether <paramref name="owner"/> holds the lease now.</returns>
    Task<bool> TryAcquireLeaseAsync(string owner, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives the lease up, if <paramref name="owner"/> holds it, so another instance need not wait for it to expire.</summary>
    Task ReleaseLeaseAsync(string owner, CancellationToken cancellationToken);

    /// <summary>Which of <paramref name="blobs"/> were done with the same ETag.</summary>
    /// <returns>The names of the blobs that need not be read again.</returns>
    Task<IReadOnlySet<string>> FindDoneAsync(IReadOnlyList<DeadLetterBlobRef> blobs, CancellationToken cancellationToken);

    /// <summary>
    /// Durably marks chunks a dead-letter blob announced, before they are enqueued: only those the job database does
    /// not know yet (a chunk the webhook already brought is neither recovered nor lost), each at most once.
    /// </summary>
    /// <returns>The chunks newly marked.</returns>
    Task<DeadLetterMarkResult> MarkChunksAsync(IReadOnlyList<DeadLetterChunkMark> chunks, CancellationToken cancellationToken);

    /// <summary>Durably records that a blob (at its ETag) was read and everything in it committed or rejected.</summary>
    Task MarkBlobDoneAsync(DeadLetterBlobProgress progress, CancellationToken cancellationToken);

    /// <summary>The most recently finished blobs first; <paramref name="take"/> is clamped to 1-1,000.</summary>
    Task<IReadOnlyList<DeadLetterBlobProgress>> ListBlobsAsync(int take, CancellationToken cancellationToken);

    /// <summary>Chunks with an outcome, most recently marked first; <paramref name="take"/> is clamped to 1-1,000.</summary>
    Task<IReadOnlyList<DeadLetterChunkMark>> ListChunksAsync(DeadLetterChunkOutcome outcome, int take, CancellationToken cancellationToken);

    /// <summary>How many chunks have an outcome.</summary>
    Task<long> CountChunksAsync(DeadLetterChunkOutcome outcome, CancellationToken cancellationToken);
}

/// <summary>A dead-letter blob as listed.</summary>
/// <param name="Name">Its full name in the container.</param>
/// <param name="ETag">Its ETag; a rewritten blob has a new one.</param>
public sealed record DeadLetterBlobRef(string Name, string ETag);

/// <summary>What became of a chunk announced by a dead-letter blob.</summary>
public enum DeadLetterChunkOutcome
{
    /// <summary>Enqueued and downloaded as usual: the webhook never brought it.</summary>
    Recovered,

    /// <summary>Announced after ACS's retention ran out: not downloaded, reported instead.</summary>
    Lost,
}

/// <summary>A chunk a dead-letter blob announced, with what became of it.</summary>
public sealed record DeadLetterChunkMark
{
    /// <summary>The ACS document id.</summary>
    public required string DocumentId { get; init; }

    /// <summary>Recovered or lost.</summary>
    public required DeadLetterChunkOutcome Outcome { get; init; }

    /// <summary>The recording's grouping key (as in <c>/api/recordings/{key}</c>).</summary>
    public required string RecordingKey { get; init; }

    /// <summary>The ACS recording id, when the event named it.</summary>
    public string? RecordingId { get; init; }

    /// <summary>The call id, when the event named it.</summary>
    public string? CallId { get; init; }

    /// <summary>The event that announced it.</summary>
    public required string EventId { get; init; }

    /// <summary>Its position in the recording, from 0.</summary>
    public long ChunkIndex { get; init; }

    /// <summary>When the event happened; ACS's retention counts from about then.</summary>
    public required DateTimeOffset EventTime { get; init; }

    /// <summary>When ACS deletes (or deleted) it: the event time plus <c>CallVault:AcsRetention</c>.</summary>
    public required DateTimeOffset AcsExpiresAt { get; init; }

    /// <summary>The dead-letter blob it came from.</summary>
    public required string BlobName { get; init; }

    /// <summary>When it was marked; set by the store.</summary>
    public DateTimeOffset RecordedAt { get; init; }
}

/// <summary>The chunks <see cref="IDeadLetterRecoveryStore.MarkChunksAsync"/> marked for the first time.</summary>
/// <param name="Marked">Those chunks, in document order.</param>
public sealed record DeadLetterMarkResult(IReadOnlyList<DeadLetterChunkMark> Marked)
{
    /// <summary>Chunks newly marked recovered.</summary>
    public int Recovered => Marked.Count(m => m.Outcome == DeadLetterChunkOutcome.Recovered);

    /// <summary>Chunks newly marked lost.</summary>
    public int Lost => Marked.Count(m => m.Outcome == DeadLetterChunkOutcome.Lost);
}

/// <summary>A dead-letter blob read to the end.</summary>
public sealed record DeadLetterBlobProgress
{
    /// <summary>Its full name in the container.</summary>
    public required string Name { get; init; }

    /// <summary>The ETag it had when it was read.</summary>
    public required string ETag { get; init; }

    /// <summary>When it was done; set by the store.</summary>
    public DateTimeOffset DoneAt { get; init; }

    /// <summary>Recording events committed through the webhook's intake (duplicates included).</summary>
    public long EventsRecovered { get; init; }

    /// <summary>Events that were not recording events, skipped.</summary>
    public long EventsSkipped { get; init; }

    /// <summary>Recording events past ACS's retention, reported as lost.</summary>
    public long EventsLost { get; init; }

    /// <summary>Events (or the whole blob) refused and kept as rejected events.</summary>
    public long EventsRejected { get; init; }

    /// <summary>Chunks the job database did not know before.</summary>
    public long NewChunks { get; init; }

    /// <summary>Why the whole blob could not be read (not JSON, not an array, too large); null when it was read.</summary>
    public string? RejectedReason { get; init; }
}

namespace CallVault.Jobs;

/// <summary>
/// The state changes of a leased chunk. Each is one write unit: the chunk's state, its progress and its recording's
/// aggregates (stored bytes, participants) commit together in one transaction, fenced by the lease token.
/// </summary>
/// <remarks>
/// Contract (checked by the transitions contract suite on every backend): a call with a lease that was lost throws
/// <see cref="LeaseLostException"/> and changes nothing, neither the chunk nor its recording.
/// </remarks>
public interface IChunkTransitions
{
    /// <summary>Records a step that is done (media stored, metadata stored, deleted from ACS), so it is not redone.</summary>
    /// <exception cref="LeaseLostException">The lease was lost.</exception>
    Task RecordProgressAsync(ChunkLease lease, ChunkProgress progress, CancellationToken cancellationToken);

    /// <summary>Marks the chunk stored and ends the lease.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="note">Kept as the chunk's last error when something was left undone on purpose (e.g. not deleted from ACS); null clears it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The lease was lost.</exception>
    Task CompleteAsync(ChunkLease lease, string? note, CancellationToken cancellationToken);

    /// <summary>
    /// Records the last steps done (as <see cref="RecordProgressAsync"/> would), marks the chunk stored and ends the lease,
    /// all in one commit: one fsync for what would otherwise be several.
    /// </summary>
    /// <param name="lease">The lease.</param>
    /// <param name="progress">Steps done and not recorded yet; an empty <see cref="ChunkProgress"/> records nothing more.</param>
    /// <param name="note">As for <see cref="CompleteAsync(ChunkLease, string?, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The lease was lost; nothing was written.</exception>
    Task CompleteAsync(ChunkLease lease, ChunkProgress progress, string? note, CancellationToken cancellationToken);

    /// <summary>
    /// Completes the chunk as <see cref="CompleteAsync(ChunkLease, ChunkProgress, string?, CancellationToken)"/> does and,
    /// in the same commit, leases the oldest chunk that is due to <paramref name="owner"/> as
    /// <see cref="IChunkQueue.TryLeaseAsync"/> would: a worker working through a backlog pays one commit per chunk
    /// instead of two. Nothing is acknowledged by a lease, so taking it in the completing commit weakens nothing: when the
    /// commit fails, neither the completion nor the new lease is written.
    /// </summary>
    /// <param name="lease">The lease of the chunk being completed.</param>
    /// <param name="progress">Steps done and not recorded yet; an empty <see cref="ChunkProgress"/> records nothing more.</param>
    /// <param name="note">As for <see cref="CompleteAsync(ChunkLease, string?, CancellationToken)"/>.</param>
    /// <param name="owner">Who holds the next lease.</param>
    /// <param name="leaseDuration">How long the next lease lasts unless renewed.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The next chunk's lease, or null when no chunk is due (the completion is committed either way).</returns>
    /// <exception cref="LeaseLostException">The lease was lost; nothing was written and nothing leased.</exception>
    Task<ChunkLease?> CompleteAndLeaseNextAsync(ChunkLease lease, ChunkProgress progress, string? note, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Ends the lease after a failure: due again at <paramref name="retryAt"/>, or dead-lettered when it is null.</summary>
    /// <exception cref="LeaseLostException">The lease was lost.</exception>
    Task FailAsync(ChunkLease lease, string reason, DateTimeOffset? retryAt, CancellationToken cancellationToken);

    /// <summary>Ends the lease without counting the attempt (graceful shutdown); the chunk is due at once.</summary>
    /// <exception cref="LeaseLostException">The lease was lost.</exception>
    Task ReleaseAsync(ChunkLease lease, CancellationToken cancellationToken);
}

/// <summary>Conveniences over <see cref="IChunkTransitions"/>.</summary>
public static class ChunkTransitionsExtensions
{
    /// <summary>Marks the chunk stored, with nothing left undone, and ends the lease.</summary>
    public static Task CompleteAsync(this IChunkTransitions transitions, ChunkLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        return transitions.CompleteAsync(lease, note: null, cancellationToken);
    }
}

/// <summary>A step done for a chunk.</summary>
public sealed record ChunkProgress
{
    /// <summary>The media, now stored.</summary>
    public StoredObjectInfo? Media { get; init; }

    /// <summary>The metadata document, now stored.</summary>
    public StoredObjectInfo? Metadata { get; init; }

    /// <summary>The metadata JSON, kept for the API.</summary>
    public string? MetadataJson { get; init; }

    /// <summary>
    /// Participant raw ids the metadata names (<c>4:+14255550123</c>, <c>8:acs:…</c>), merged into the recording's
    /// participants in the same transaction. The caller parses the metadata; the store does not.
    /// </summary>
    public IReadOnlyList<string> Participants { get; init; } = [];

    /// <summary>When the chunk was deleted from ACS.</summary>
    public DateTimeOffset? DeletedFromAcsAt { get; init; }
}

using static CallVault.Jobs.AdoNet.ChunkRows;

namespace CallVault.Jobs.AdoNet;

/// <summary>The transitions role in SQL: each transition is one <see cref="ChunkWriteUnit"/>, fenced by the lease token.</summary>
/// <param name="database">The database and its dialect.</param>
public sealed class AdoNetChunkTransitions(RelationalDatabase database) : IChunkTransitions
{
    private const string EndLease = "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL";

    /// <inheritdoc />
    public Task RecordProgressAsync(ChunkLease lease, ChunkProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(progress);
        return WithProgress(new ChunkWriteUnit(lease), progress).CommitAsync(database, cancellationToken);
    }

    /// <inheritdoc />
    public Task CompleteAsync(ChunkLease lease, ChunkProgress progress, string? note, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(progress);
        return WithProgress(Completion(lease, note), progress).CommitAsync(database, cancellationToken);
    }

    private static ChunkWriteUnit WithProgress(ChunkWriteUnit unit, ChunkProgress progress) =>
        unit
            .Set(
                """
                media_path = COALESCE(@mediaPath, media_path), media_length = COALESCE(@mediaLength, media_length),
                media_sha256 = COALESCE(@mediaSha, media_sha256), media_content_type = COALESCE(@mediaType, media_content_type),
                metadata_path = COALESCE(@metaPath, metadata_path), metadata_length = COALESCE(@metaLength, metadata_length),
                metadata_sha256 = COALESCE(@metaSha, metadata_sha256), metadata_json = COALESCE(@metaJson, metadata_json),
                deleted_from_acs_at = COALESCE(@deleted, deleted_from_acs_at)
                """,
                ("@mediaPath", progress.Media?.Path), ("@mediaLength", progress.Media?.Length), ("@mediaSha", progress.Media?.Sha256),
                ("@mediaType", progress.Media?.ContentType), ("@metaPath", progress.Metadata?.Path), ("@metaLength", progress.Metadata?.Length),
                ("@metaSha", progress.Metadata?.Sha256), ("@metaJson", progress.MetadataJson), ("@deleted", Millis(progress.DeletedFromAcsAt)))
            .MergeParticipants(progress.Participants);

    /// <inheritdoc />
    public Task CompleteAsync(ChunkLease lease, string? note, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return Completion(lease, note).CommitAsync(database, cancellationToken);
    }

    // The stored bytes are recomputed after the chunk row's update, which sets its media length in the same statement.
    private ChunkWriteUnit Completion(ChunkLease lease, string? note) =>
        new ChunkWriteUnit(lease)
            .Set($"state = '{ChunkStates.Stored}', stored_at = @now, last_error = @note, {EndLease}", ("@now", database.Now()), ("@note", note))
            .RecomputeStoredBytes();

    /// <inheritdoc />
    /// <remarks>
    /// The next chunk is leased after the completed one is updated, while its recording row is held: on PostgreSQL the
    /// subquery skips rows another transaction holds (<c>SKIP LOCKED</c>), so leasing never waits for a lock and adds
    /// no lock-order cycle with enqueues or other transitions.
    /// </remarks>
    public Task<ChunkLease?> CompleteAndLeaseNextAsync(ChunkLease lease, ChunkProgress progress, string? note, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return WithProgress(Completion(lease, note), progress).CommitAsync(
            database,
            (session, token) => AdoNetChunkQueue.LeaseOldestDueAsync(database, session, owner, leaseDuration, token),
            cancellationToken);
    }

    /// <inheritdoc />
    public Task FailAsync(ChunkLease lease, string reason, DateTimeOffset? retryAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return new ChunkWriteUnit(lease)
            .Set(
                $"state = @state, last_error = @error, next_attempt_at = @retry, {EndLease}",
                ("@state", retryAt is null ? ChunkStates.DeadLettered : ChunkStates.Pending), ("@error", reason), ("@retry", Millis(retryAt) ?? database.Now()))
            .CommitAsync(database, cancellationToken);
    }

    /// <inheritdoc />
    public Task ReleaseAsync(ChunkLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return new ChunkWriteUnit(lease)
            .Set($"state = '{ChunkStates.Pending}', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_attempt_at = @now, {EndLease}", ("@now", database.Now()))
            .CommitAsync(database, cancellationToken);
    }
}

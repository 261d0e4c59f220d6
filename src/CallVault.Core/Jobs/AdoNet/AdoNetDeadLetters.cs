namespace CallVault.Jobs.AdoNet;

/// <summary>The dead-letters role in SQL.</summary>
/// <param name="database">The database and its dialect.</param>
public sealed class AdoNetDeadLetters(RelationalDatabase database) : IDeadLetters
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<ChunkJob>> ListAsync(int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => ChunkRows.QueryAsync(
                session,
                $"c.state = '{ChunkStates.DeadLettered}' ORDER BY c.event_time, c.chunk_index LIMIT @take",
                cancellationToken,
                ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<bool> RetryAsync(string documentId, CancellationToken cancellationToken) =>
        await database.WriteAsync(
            session => session.ExecuteAsync(
                $"UPDATE chunks SET state = '{ChunkStates.Pending}', attempts = 0, next_attempt_at = @now, rejected_reason = NULL WHERE document_id = @doc AND state = '{ChunkStates.DeadLettered}';",
                cancellationToken,
                ("@doc", documentId), ("@now", database.Now())),
            cancellationToken).ConfigureAwait(false) == 1;
}

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
    public Task<DeadLetterRetryOutcome> RetryAsync(string documentId, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async session =>
            {
                if (await session.ScalarAsync(
                    $"SELECT recording_key FROM chunks WHERE document_id = @doc AND state = '{ChunkStates.DeadLettered}';",
                    cancellationToken,
                    ("@doc", documentId)).ConfigureAwait(false) is not string recordingKey)
                {
                    return DeadLetterRetryOutcome.NotFound;
                }

                // The recording's row lock, as a deletion takes it before it checks that every chunk is stored: either the
                // deletion sees this chunk due and refuses, or this sees the deletion's mark and refuses.
                await session.ScalarAsync(
                    $"SELECT recording_key FROM recordings WHERE recording_key = @key {database.LockRowsClause};",
                    cancellationToken,
                    ("@key", recordingKey)).ConfigureAwait(false);
                if (await session.ScalarAsync(
                    "SELECT recording_key FROM tombstones WHERE recording_key = @key UNION ALL SELECT recording_key FROM retention_deletions WHERE recording_key = @key;",
                    cancellationToken,
                    ("@key", recordingKey)).ConfigureAwait(false) is not null)
                {
                    return DeadLetterRetryOutcome.RecordingDeleted;
                }

                return await session.ExecuteAsync(
                    $"UPDATE chunks SET state = '{ChunkStates.Pending}', attempts = 0, next_attempt_at = @now, rejected_reason = NULL WHERE document_id = @doc AND state = '{ChunkStates.DeadLettered}';",
                    cancellationToken,
                    ("@doc", documentId), ("@now", database.Now())).ConfigureAwait(false) == 1
                    ? DeadLetterRetryOutcome.Retried
                    : DeadLetterRetryOutcome.NotFound;
            },
            cancellationToken);
}

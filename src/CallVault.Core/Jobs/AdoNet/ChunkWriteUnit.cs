namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The writes of one transition of a leased chunk, committed as one transaction: the fenced change of the chunk row,
/// then the recording's aggregates it affects. Nothing is written unless the lease is still held.
/// </summary>
/// <remarks>
/// Rows are locked recording first, then chunk, the same order the enqueue takes them in, so that a transition and an
/// enqueue of the same recording wait for each other rather than deadlock. Holding the recording row also makes the
/// participants merge (a read-modify-write) safe against another chunk of the same recording merging at once.
/// </remarks>
internal sealed class ChunkWriteUnit(ChunkLease lease)
{
    private readonly List<(string Assignments, (string Name, object? Value)[] Parameters)> _chunk = [];
    private readonly List<string> _participants = [];
    private readonly List<Func<Task>> _afterCommit = [];
    private bool _recomputeStoredBytes;

    /// <summary>Assignments to the chunk row (SQL <c>SET</c> items), with their parameters.</summary>
    public ChunkWriteUnit Set(string assignments, params (string Name, object? Value)[] parameters)
    {
        _chunk.Add((assignments, parameters));
        return this;
    }

    /// <summary>Recomputes the recording's stored bytes, for a transition that changes which chunks are stored.</summary>
    public ChunkWriteUnit RecomputeStoredBytes()
    {
        _recomputeStoredBytes = true;
        return this;
    }

    /// <summary>Adds participants to the recording's list and search terms.</summary>
    public ChunkWriteUnit MergeParticipants(IEnumerable<string> participants)
    {
        _participants.AddRange(participants.Select(p => p.Trim()).Where(p => p.Length > 0));
        return this;
    }

    /// <summary>Runs once the unit has committed.</summary>
    public ChunkWriteUnit AfterCommit(Func<Task> action)
    {
        _afterCommit.Add(action);
        return this;
    }

    /// <summary>Commits the unit.</summary>
    /// <exception cref="LeaseLostException">The lease was lost; nothing was written.</exception>
    public Task CommitAsync(RelationalDatabase database, CancellationToken cancellationToken) =>
        CommitAsync(database, (_, _) => Task.FromResult(true), cancellationToken);

    /// <summary>
    /// Commits the unit with one more write after its own, in the same transaction (e.g. leasing the next chunk), and
    /// returns what that write returns.
    /// </summary>
    /// <exception cref="LeaseLostException">The lease was lost; nothing was written, <paramref name="then"/> included.</exception>
    public Task<T> CommitAsync<T>(RelationalDatabase database, Func<SqlSession, CancellationToken, Task<T>> then, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async session =>
            {
                var key = lease.Job.Request.Recording.Key;
                var known = await session.ScalarAsync(
                    $"SELECT participants FROM recordings WHERE recording_key = @key {database.LockRowsClause};",
                    cancellationToken,
                    ("@key", key)).ConfigureAwait(false) as string;

                var assignments = _chunk.Count == 0 ? "lease_token = lease_token" : string.Join(", ", _chunk.Select(c => c.Assignments));
                var changed = await session.ExecuteAsync(
                    $"UPDATE chunks SET {assignments} WHERE {LeaseFence.Where};",
                    cancellationToken,
                    [.. _chunk.SelectMany(c => c.Parameters), .. LeaseFence.Parameters(lease)]).ConfigureAwait(false);
                if (changed == 0)
                {
                    throw LeaseFence.Lost(lease);
                }

                if (_participants.Count > 0)
                {
                    await MergeParticipantsAsync(session, key, known, cancellationToken).ConfigureAwait(false);
                }

                if (_recomputeStoredBytes)
                {
                    // Recomputed rather than incremented, so that it stays right whatever happened before.
                    await session.ExecuteAsync(
                        $"""
                        UPDATE recordings SET stored_bytes = COALESCE(
                            (SELECT SUM(c.media_length) FROM chunks c WHERE c.recording_key = @key AND c.state = '{ChunkStates.Stored}'), 0)
                        WHERE recording_key = @key;
                        """,
                        cancellationToken,
                        ("@key", key)).ConfigureAwait(false);
                }

                foreach (var action in _afterCommit)
                {
                    session.AfterCommit(action);
                }

                return await then(session, cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    private async Task MergeParticipantsAsync(SqlSession session, string key, string? known, CancellationToken cancellationToken)
    {
        // Kept on the recording, one id per line, so the list can show them, and as search terms so it can filter.
        var current = (known ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var merged = current.Union(_participants, StringComparer.Ordinal).ToList();
        if (merged.Count != current.Length)
        {
            await session.ExecuteAsync(
                "UPDATE recordings SET participants = @participants WHERE recording_key = @key;",
                cancellationToken,
                ("@participants", string.Join('\n', merged)), ("@key", key)).ConfigureAwait(false);
        }

        await ParticipantTerms.IndexAsync(session, key, _participants, cancellationToken).ConfigureAwait(false);
    }
}

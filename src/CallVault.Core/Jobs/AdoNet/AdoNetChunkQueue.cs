using static CallVault.Jobs.AdoNet.ChunkRows;

namespace CallVault.Jobs.AdoNet;

/// <summary>The queue role in SQL: enqueue, lease, renew.</summary>
/// <param name="database">The database and its dialect.</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It implements the download queue; the name says so.")]
public sealed class AdoNetChunkQueue(RelationalDatabase database) : IChunkQueue
{
    /// <inheritdoc />
    /// <remarks>
    /// Several instances may enqueue the same documents at once (Event Grid delivers to any instance, and redelivers).
    /// Every insert is an upsert, so a row another transaction committed first is not an error; and rows are locked in
    /// one global order (recordings, then events, then chunks, each sorted by key) so that two such transactions wait
    /// for each other instead of deadlocking.
    /// </remarks>
    public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            ArgumentException.ThrowIfNullOrEmpty(e.EventId, nameof(events));
        }

        return database.WriteAsync(session => EnqueueAsync(session, events, cancellationToken), cancellationToken);
    }

    private async Task<EnqueueResult> EnqueueAsync(SqlSession session, IReadOnlyList<EventChunks> events, CancellationToken cancellationToken)
    {
        var now = database.Now();
        var chunks = events
            .SelectMany((e, eventIndex) => e.Chunks.Select(chunk => (EventIndex: eventIndex, Chunk: chunk)))
            .ToList();

        // OrderBy is stable, so where a delivery names a document twice, its first mention is the one inserted.
        foreach (var (_, chunk) in chunks.OrderBy(c => c.Chunk.Recording.Key, StringComparer.Ordinal))
        {
            await UpsertRecordingAsync(session, chunk.Recording, now, cancellationToken).ConfigureAwait(false);
        }

        // Read after the recordings' rows are locked by the upserts above, so a deletion beginning now is either seen
        // here or begins after this unit and finds the new chunk (which then keeps it from deleting).
        var deleted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in chunks.Select(c => c.Chunk.Recording.Key).Distinct(StringComparer.Ordinal))
        {
            if (await session.ScalarAsync(
                "SELECT recording_key FROM tombstones WHERE recording_key = @key UNION ALL SELECT recording_key FROM retention_deletions WHERE recording_key = @key;",
                cancellationToken,
                ("@key", key)).ConfigureAwait(false) is not null)
            {
                deleted.Add(key);
            }
        }

        var duplicates = 0;
        foreach (var eventId in events.Select(e => e.EventId).Order(StringComparer.Ordinal))
        {
            var inserted = await session.ExecuteAsync(
                "INSERT INTO events (event_id, event_type, received_at) VALUES (@id, 'Microsoft.Communication.RecordingFileStatusUpdated', @now) ON CONFLICT (event_id) DO NOTHING;",
                cancellationToken,
                ("@id", eventId), ("@now", now)).ConfigureAwait(false);
            if (inserted == 0)
            {
                duplicates++;
            }
        }

        var added = new int[events.Count];
        foreach (var (eventIndex, chunk) in chunks.OrderBy(c => c.Chunk.DocumentId, StringComparer.Ordinal))
        {
            // A chunk of a deleted recording (a redelivery, or one ACS announced late) is not downloaded into it again: the
            // deletion was decided for the recording. It is recorded refused, so the worker dead-letters it with this
            // reason and it is visible and counted there. A retry of it is refused too (IDeadLetters.RetryAsync).
            var request = chunk.RejectedReason is null && deleted.Contains(chunk.Recording.Key)
                ? chunk with { RejectedReason = RecordingDeletedReason }
                : chunk;
            if (await InsertChunkAsync(session, request, now, cancellationToken).ConfigureAwait(false))
            {
                added[eventIndex]++;
            }
        }

        return new EnqueueResult(added, duplicates);
    }

    /// <summary>Why a chunk of a deleted recording is not downloaded.</summary>
    public const string RecordingDeletedReason = "Recording deleted: the recording has a tombstone or is being deleted, so a chunk delivered now is not stored into it again.";

    private static Task<int> UpsertRecordingAsync(SqlSession session, RecordingInfo r, long now, CancellationToken cancellationToken) => session.ExecuteAsync(
        """
        INSERT INTO recordings (recording_key, recording_id, call_id, server_call_id, topic, start_time, duration_ms, content_type, channel_type, format_type, session_end_reason, first_seen_at)
        VALUES (@key, @rid, @cid, @scid, @topic, @start, @duration, @ct, @ch, @fmt, @end, @now)
        ON CONFLICT (recording_key) DO UPDATE SET
            recording_id = COALESCE(recordings.recording_id, excluded.recording_id),
            call_id = COALESCE(recordings.call_id, excluded.call_id),
            server_call_id = COALESCE(recordings.server_call_id, excluded.server_call_id),
            topic = COALESCE(recordings.topic, excluded.topic),
            start_time = COALESCE(recordings.start_time, excluded.start_time),
            duration_ms = COALESCE(recordings.duration_ms, excluded.duration_ms),
            content_type = COALESCE(recordings.content_type, excluded.content_type),
            channel_type = COALESCE(recordings.channel_type, excluded.channel_type),
            format_type = COALESCE(recordings.format_type, excluded.format_type),
            session_end_reason = COALESCE(recordings.session_end_reason, excluded.session_end_reason);
        """,
        cancellationToken,
        ("@key", r.Key), ("@rid", r.RecordingId), ("@cid", r.CallId), ("@scid", r.ServerCallId), ("@topic", r.Topic),
        ("@start", Millis(r.StartTime)), ("@duration", r.DurationMs), ("@ct", r.ContentType), ("@ch", r.ChannelType),
        ("@fmt", r.FormatType), ("@end", r.SessionEndReason), ("@now", now));

    /// <summary>Inserts the chunk unless it is known; returns whether it was new.</summary>
    private static async Task<bool> InsertChunkAsync(SqlSession session, ChunkRequest chunk, long now, CancellationToken cancellationToken)
    {
        // A chunk refused at intake is still recorded (as due), so that the worker dead-letters it with its reason
        // and it shows in the API instead of vanishing.
        var inserted = await session.ExecuteAsync(
            $"""
            INSERT INTO chunks (document_id, recording_key, chunk_index, end_reason, content_location, metadata_location, delete_location, rejected_reason, event_time, received_at, state, next_attempt_at, trace_parent)
            VALUES (@doc, @key, @index, @reason, @content, @metadata, @delete, @rejected, @eventTime, @now, '{ChunkStates.Pending}', @now, @traceParent)
            ON CONFLICT (document_id) DO NOTHING;
            """,
            cancellationToken,
            ("@doc", chunk.DocumentId), ("@key", chunk.Recording.Key), ("@index", chunk.Index), ("@reason", chunk.EndReason),
            ("@content", chunk.ContentLocation?.AbsoluteUri), ("@metadata", chunk.MetadataLocation?.AbsoluteUri),
            ("@delete", chunk.DeleteLocation?.AbsoluteUri), ("@rejected", chunk.RejectedReason), ("@eventTime", Millis(chunk.EventTime)),
            ("@now", now), ("@traceParent", chunk.TraceParent)).ConfigureAwait(false);
        if (inserted == 1)
        {
            return true;
        }

        if (chunk.ContentLocation is not null && chunk.RejectedReason is null)
        {
            // A redelivery changes nothing, except that a GA event may complete a 2021-preview chunk's locations.
            await session.ExecuteAsync(
                """
                UPDATE chunks SET content_location = @content, metadata_location = @metadata, delete_location = COALESCE(delete_location, @delete)
                WHERE document_id = @doc AND content_location IS NULL;
                """,
                cancellationToken,
                ("@doc", chunk.DocumentId), ("@content", chunk.ContentLocation.AbsoluteUri), ("@metadata", chunk.MetadataLocation?.AbsoluteUri),
                ("@delete", chunk.DeleteLocation?.AbsoluteUri)).ConfigureAwait(false);
        }

        return false;
    }

    /// <inheritdoc />
    public Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return database.WriteAsync(session => LeaseOldestDueAsync(database, session, owner, leaseDuration, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Leases the oldest chunk that is due (pending and due, or leased with an expired lease) to <paramref name="owner"/>
    /// within the caller's write unit; null when none is. Shared by <see cref="TryLeaseAsync"/> and the completion
    /// that leases the next chunk in its own commit.
    /// </summary>
    internal static async Task<ChunkLease?> LeaseOldestDueAsync(RelationalDatabase database, SqlSession session, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        var now = database.Now();
        var expires = now + (long)leaseDuration.TotalMilliseconds;
        var token = Guid.NewGuid().ToString("N");
        var leased = await session.ExecuteAsync(
            $"""
            UPDATE chunks SET state = '{ChunkStates.Leased}', lease_owner = @owner, lease_token = @token, lease_expires_at = @expires, attempts = attempts + 1
            WHERE document_id = (
                SELECT document_id FROM chunks
                WHERE (state = '{ChunkStates.Pending}' AND next_attempt_at <= @now) OR (state = '{ChunkStates.Leased}' AND lease_expires_at <= @now)
                ORDER BY event_time, chunk_index LIMIT 1 {database.SkipLockedClause});
            """,
            cancellationToken,
            ("@owner", owner), ("@token", token), ("@expires", expires), ("@now", now)).ConfigureAwait(false);
        if (leased == 0)
        {
            return null;
        }

        var job = (await QueryAsync(session, "c.lease_token = @token", cancellationToken, ("@token", token)).ConfigureAwait(false)).Single();
        return new ChunkLease(job.Request.DocumentId, owner, token, job) { ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expires) };
    }

    /// <inheritdoc />
    public async Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var changed = await database.ReadAsync(
            session => session.ExecuteAsync(
                $"UPDATE chunks SET lease_expires_at = @expires WHERE document_id = @doc AND lease_token = @token AND state = '{ChunkStates.Leased}';",
                cancellationToken,
                ("@expires", database.Now() + (long)leaseDuration.TotalMilliseconds), ("@doc", lease.DocumentId), ("@token", lease.Token)),
            cancellationToken).ConfigureAwait(false);
        if (changed == 0)
        {
            throw LeaseFence.Lost(lease);
        }
    }
}

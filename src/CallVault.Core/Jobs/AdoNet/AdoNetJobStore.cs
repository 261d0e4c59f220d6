using System.Data.Common;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The SQL behind every relational job store: the queries are shared, and a subclass supplies the connection, the
/// schema migrations and the few dialect differences (how a lease skips rows that another transaction holds, and
/// what happens to leases at start-up).
/// </summary>
public abstract class AdoNetJobStore : IJobStore
{
    private const string ChunkColumns = """
        c.document_id, c.chunk_index, c.end_reason, c.content_location, c.metadata_location, c.delete_location,
        c.rejected_reason, c.event_time, c.received_at, c.state, c.attempts, c.next_attempt_at, c.last_error,
        c.media_path, c.media_length, c.media_sha256, c.media_content_type, c.metadata_path, c.metadata_length,
        c.metadata_sha256, c.metadata_json, c.deleted_from_acs_at, c.stored_at,
        r.recording_key, r.recording_id, r.call_id, r.server_call_id, r.topic, r.start_time, r.duration_ms,
        r.content_type, r.channel_type, r.format_type, r.session_end_reason
        """;

    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the store.</summary>
    /// <param name="timeProvider">The clock.</param>
    protected AdoNetJobStore(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        RejectedEvents = new RelationalRejectedEventStore(OpenAsync, timeProvider);
    }

    /// <summary>
    /// The rejected-events role over the same database and connections (its table is created by
    /// <see cref="InitializeAsync"/>).
    /// </summary>
    public Events.IRejectedEventStore RejectedEvents { get; }

    /// <summary>The schema, as migrations applied in order; each runs in the transaction that records it.</summary>
    protected abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>
    /// The clause that ends the subquery choosing the chunk to lease: empty where the database serialises writers
    /// (SQLite), <c>FOR UPDATE SKIP LOCKED</c> where it does not (PostgreSQL).
    /// </summary>
    protected abstract string SkipLockedClause { get; }

    /// <summary>Opens a connection, ready for use.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Runs before the migrations, outside any transaction (e.g. setting the journal mode).</summary>
    protected virtual Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs inside the migration transaction before the migrations (e.g. taking an advisory lock).</summary>
    protected virtual Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Whether every lease found at start-up belongs to a dead process: true for an embedded database that one process
    /// owns, false when several instances share the database and leases must expire instead.
    /// </summary>
    protected abstract bool RecoverLeasesAtStartup { get; }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await PrepareAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await LockSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);", cancellationToken).ConfigureAwait(false);
        var applied = Convert.ToInt32(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        for (var version = applied + 1; version <= Migrations.Count; version++)
        {
            await ExecuteAsync(connection, transaction, Migrations[version - 1], cancellationToken).ConfigureAwait(false);
            if (version == RelationalSchema.ParticipantIndexVersion)
            {
                await IndexKnownParticipantsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @t);", cancellationToken, ("@v", version), ("@t", Now())).ConfigureAwait(false);
        }

        if (RecoverLeasesAtStartup)
        {
            // Any lease found at start-up belongs to a process that died: the chunk is due again at once.
            await ExecuteAsync(connection, transaction, "UPDATE chunks SET state = 'Pending', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, next_attempt_at = @now WHERE state = 'Leased';", cancellationToken, ("@now", Now())).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var now = Now();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var added = new List<int>(events.Count);
        var duplicates = 0;
        foreach (var (eventId, chunks) in events)
        {
            ArgumentException.ThrowIfNullOrEmpty(eventId);
            if (await ExecuteAsync(connection, transaction, "INSERT INTO events (event_id, event_type, received_at) VALUES (@id, 'Microsoft.Communication.RecordingFileStatusUpdated', @now) ON CONFLICT (event_id) DO NOTHING;", cancellationToken, ("@id", eventId), ("@now", now)).ConfigureAwait(false) == 0)
            {
                duplicates++;
            }

            added.Add(await EnqueueChunksAsync(connection, transaction, chunks, now, cancellationToken).ConfigureAwait(false));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new EnqueueResult(added, duplicates);
    }

    private static async Task<int> EnqueueChunksAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<ChunkRequest> chunks, long now, CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var chunk in chunks)
        {
            var r = chunk.Recording;
            await ExecuteAsync(
                connection,
                transaction,
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
                ("@fmt", r.FormatType), ("@end", r.SessionEndReason), ("@now", now)).ConfigureAwait(false);
            var known = await ScalarAsync(connection, transaction, "SELECT 1 FROM chunks WHERE document_id = @doc;", cancellationToken, ("@doc", chunk.DocumentId)).ConfigureAwait(false) is not null;
            if (known)
            {
                // A redelivery changes nothing, except that a GA event may complete a 2021-preview chunk's locations.
                await ExecuteAsync(
                    connection,
                    transaction,
                    """
                    UPDATE chunks SET content_location = @content, metadata_location = @metadata, delete_location = COALESCE(delete_location, @delete)
                    WHERE document_id = @doc AND content_location IS NULL AND CAST(@content AS TEXT) IS NOT NULL AND CAST(@rejected AS TEXT) IS NULL;
                    """,
                    cancellationToken,
                    ("@doc", chunk.DocumentId), ("@content", chunk.ContentLocation?.AbsoluteUri), ("@metadata", chunk.MetadataLocation?.AbsoluteUri),
                    ("@delete", chunk.DeleteLocation?.AbsoluteUri), ("@rejected", chunk.RejectedReason)).ConfigureAwait(false);
                continue;
            }

            // A chunk refused at intake is still recorded (as due), so that the worker dead-letters it with its reason
            // and it shows in the API instead of vanishing.
            await ExecuteAsync(
                connection,
                transaction,
                """
                INSERT INTO chunks (document_id, recording_key, chunk_index, end_reason, content_location, metadata_location, delete_location, rejected_reason, event_time, received_at, state, next_attempt_at)
                VALUES (@doc, @key, @index, @reason, @content, @metadata, @delete, @rejected, @eventTime, @now, 'Pending', @now);
                """,
                cancellationToken,
                ("@doc", chunk.DocumentId), ("@key", r.Key), ("@index", chunk.Index), ("@reason", chunk.EndReason),
                ("@content", chunk.ContentLocation?.AbsoluteUri), ("@metadata", chunk.MetadataLocation?.AbsoluteUri),
                ("@delete", chunk.DeleteLocation?.AbsoluteUri), ("@rejected", chunk.RejectedReason), ("@eventTime", Millis(chunk.EventTime)),
                ("@now", now)).ConfigureAwait(false);
            added++;
        }

        return added;
    }

    /// <inheritdoc />
    public async Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        var now = Now();
        var token = Guid.NewGuid().ToString("N");
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var leased = await ExecuteAsync(
            connection,
            transaction,
            $$"""
            UPDATE chunks SET state = 'Leased', lease_owner = @owner, lease_token = @token, lease_expires_at = @expires, attempts = attempts + 1
            WHERE document_id = (
                SELECT document_id FROM chunks
                WHERE (state = 'Pending' AND next_attempt_at <= @now) OR (state = 'Leased' AND lease_expires_at <= @now)
                ORDER BY event_time, chunk_index LIMIT 1 {{SkipLockedClause}});
            """,
            cancellationToken,
            ("@owner", owner), ("@token", token), ("@expires", now + (long)leaseDuration.TotalMilliseconds), ("@now", now)).ConfigureAwait(false);
        if (leased == 0)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        var job = (await QueryChunksAsync(connection, transaction, "c.lease_token = @token", cancellationToken, ("@token", token)).ConfigureAwait(false)).Single();
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new ChunkLease(job.Request.DocumentId, owner, token, job);
    }

    /// <inheritdoc />
    public Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        UpdateLeasedAsync(lease, "lease_expires_at = @expires", cancellationToken, ("@expires", Now() + (long)leaseDuration.TotalMilliseconds));

    /// <inheritdoc />
    public async Task RecordProgressAsync(ChunkLease lease, ChunkProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        await RecordChunkProgressAsync(lease, progress, cancellationToken).ConfigureAwait(false);
        if (progress.MetadataJson is { } json && ParticipantsOf(json) is { Count: > 0 } participants)
        {
            // Kept on the recording, one id per line, so the list can show them, and as search terms so it can filter.
            var key = lease.Job.Request.Recording.Key;
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var known = await ScalarAsync(connection, transaction, "SELECT participants FROM recordings WHERE recording_key = @key;", cancellationToken, ("@key", key)).ConfigureAwait(false) as string;
            var merged = (known ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries).Union(participants, StringComparer.Ordinal).ToList();
            await ExecuteAsync(connection, transaction, "UPDATE recordings SET participants = @participants WHERE recording_key = @key;", cancellationToken, ("@participants", string.Join('\n', merged)), ("@key", key)).ConfigureAwait(false);
            await IndexParticipantsAsync(connection, transaction, key, participants, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task IndexParticipantsAsync(DbConnection connection, DbTransaction transaction, string recordingKey, IEnumerable<string> participants, CancellationToken cancellationToken)
    {
        foreach (var term in participants.SelectMany(ParticipantSearch.TermsOf).Distinct(StringComparer.Ordinal))
        {
            await ExecuteAsync(
                connection,
                transaction,
                "INSERT INTO recording_participants (participant, recording_key) VALUES (@term, @key) ON CONFLICT (participant, recording_key) DO NOTHING;",
                cancellationToken,
                ("@term", term), ("@key", recordingKey)).ConfigureAwait(false);
        }
    }

    /// <summary>Fills the participant search terms from the participants kept on recordings before they existed.</summary>
    private static async Task IndexKnownParticipantsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var known = new List<(string Key, string Participants)>();
        await using (var command = Command(connection, transaction, "SELECT recording_key, participants FROM recordings WHERE participants IS NOT NULL;"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                known.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        foreach (var (key, participants) in known)
        {
            await IndexParticipantsAsync(connection, transaction, key, participants.Split('\n', StringSplitOptions.RemoveEmptyEntries), cancellationToken).ConfigureAwait(false);
        }
    }

    private static List<string> ParticipantsOf(string metadataJson)
    {
        try
        {
            return [.. Acs.Recordings.RecordingMetadata.Parse(System.Text.Encoding.UTF8.GetBytes(metadataJson)).Participants.Select(p => p.ParticipantId).Where(p => p.Length > 0)];
        }
        catch (InvalidDataException)
        {
            return [];
        }
    }

    private Task RecordChunkProgressAsync(ChunkLease lease, ChunkProgress progress, CancellationToken cancellationToken)
    {
        return UpdateLeasedAsync(
            lease,
            """
            media_path = COALESCE(@mediaPath, media_path), media_length = COALESCE(@mediaLength, media_length),
            media_sha256 = COALESCE(@mediaSha, media_sha256), media_content_type = COALESCE(@mediaType, media_content_type),
            metadata_path = COALESCE(@metaPath, metadata_path), metadata_length = COALESCE(@metaLength, metadata_length),
            metadata_sha256 = COALESCE(@metaSha, metadata_sha256), metadata_json = COALESCE(@metaJson, metadata_json),
            deleted_from_acs_at = COALESCE(@deleted, deleted_from_acs_at)
            """,
            cancellationToken,
            ("@mediaPath", progress.Media?.Path), ("@mediaLength", progress.Media?.Length), ("@mediaSha", progress.Media?.Sha256),
            ("@mediaType", progress.Media?.ContentType), ("@metaPath", progress.Metadata?.Path), ("@metaLength", progress.Metadata?.Length),
            ("@metaSha", progress.Metadata?.Sha256), ("@metaJson", progress.MetadataJson), ("@deleted", Millis(progress.DeletedFromAcsAt)));
    }

    /// <inheritdoc />
    public async Task CompleteAsync(ChunkLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await UpdateLeasedAsync(
            connection,
            transaction,
            lease,
            "state = 'Stored', stored_at = @now, last_error = NULL, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL",
            cancellationToken,
            ("@now", Now())).ConfigureAwait(false);

        // Recomputed rather than incremented, so that it stays right whatever happened before.
        await ExecuteAsync(
            connection,
            transaction,
            """
            UPDATE recordings SET stored_bytes = COALESCE(
                (SELECT SUM(c.media_length) FROM chunks c WHERE c.recording_key = @key AND c.state = 'Stored'), 0)
            WHERE recording_key = @key;
            """,
            cancellationToken,
            ("@key", lease.Job.Request.Recording.Key)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task FailAsync(ChunkLease lease, string reason, DateTimeOffset? retryAt, CancellationToken cancellationToken) => UpdateLeasedAsync(
        lease,
        "state = @state, last_error = @error, next_attempt_at = @retry, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL",
        cancellationToken,
        ("@state", retryAt is null ? "DeadLettered" : "Pending"), ("@error", reason), ("@retry", Millis(retryAt) ?? Now()));

    /// <inheritdoc />
    public Task ReleaseAsync(ChunkLease lease, CancellationToken cancellationToken) => UpdateLeasedAsync(
        lease,
        "state = 'Pending', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_attempt_at = @now, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL",
        cancellationToken,
        ("@now", Now()));

    /// <inheritdoc />
    public async Task<bool> RetryDeadLetterAsync(string documentId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(
            connection,
            null,
            "UPDATE chunks SET state = 'Pending', attempts = 0, next_attempt_at = @now, rejected_reason = NULL WHERE document_id = @doc AND state = 'DeadLettered';",
            cancellationToken,
            ("@doc", documentId), ("@now", Now())).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecordingSummary>> ListRecordingsAsync(RecordingQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var order = query.Sort switch
        {
            RecordingSort.Oldest => "r.first_seen_at, r.recording_key",
            RecordingSort.Longest => "r.duration_ms DESC, r.recording_key DESC",
            RecordingSort.Largest => "r.stored_bytes DESC, r.recording_key DESC",
            _ => "r.first_seen_at DESC, r.recording_key DESC",
        };

        // Only the filters asked for are in the statement, so that the planner can drive the query from their index.
        var conditions = new List<string>();
        var parameters = new List<(string Name, object? Value)>
        {
            ("@take", Math.Clamp(query.Take, 1, 500)), ("@skip", Math.Max(0, query.Skip)),
        };
        if (query.CallId is { Length: > 0 } callId)
        {
            conditions.Add("r.call_id = @call");
            parameters.Add(("@call", callId));
        }

        if (query.From is { } from)
        {
            conditions.Add("r.start_time >= @from");
            parameters.Add(("@from", from.ToUnixTimeMilliseconds()));
        }

        if (query.To is { } to)
        {
            conditions.Add("r.start_time < @to");
            parameters.Add(("@to", to.ToUnixTimeMilliseconds()));
        }

        if (query.Participant?.Trim() is { Length: > 0 } participant)
        {
            conditions.Add("r.recording_key IN (SELECT p.recording_key FROM recording_participants p WHERE p.participant = @participant)");
            parameters.Add(("@participant", participant));
        }

        // A status is a test on the recording's chunks, matching RecordingSummary.Status. Rare states (everything but
        // stored, in a healthy system) drive the query from the chunks' state index; "stored" is probed per recording
        // while walking the sort order, which finds a page after a few rows.
        const string Has = "EXISTS (SELECT 1 FROM chunks s WHERE s.recording_key = r.recording_key AND s.state ";
        const string HasNot = "NOT " + Has;
        const string WithChunkIn = "r.recording_key IN (SELECT s.recording_key FROM chunks s WHERE s.state = ";
        switch (query.Status?.ToUpperInvariant())
        {
            case null or "":
                break;
            case "FAILED":
                conditions.Add($"{WithChunkIn}'DeadLettered')");
                break;
            case "STORED":
                conditions.Add($"{HasNot}<> 'Stored')");
                break;
            case "DOWNLOADING":
                conditions.Add($"{WithChunkIn}'Leased') AND {HasNot}= 'DeadLettered')");
                break;
            case "PARTIAL":
                conditions.Add($"{WithChunkIn}'Pending') AND {HasNot}IN ('DeadLettered', 'Leased')) AND {Has}= 'Stored')");
                break;
            case "PENDING":
                conditions.Add($"{WithChunkIn}'Pending') AND {HasNot}IN ('DeadLettered', 'Leased', 'Stored'))");
                break;
            default:
                return [];
        }

        var where = conditions.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", conditions);

        // The page's keys are chosen first from the index alone (a deep OFFSET then walks index entries, not rows),
        // and only that page's rows and chunks are read and aggregated.
        var page = $"SELECT r.recording_key FROM recordings r {where} ORDER BY {order} LIMIT @take OFFSET @skip";
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QuerySummariesAsync(connection, $"WHERE r.recording_key IN ({page})", $"ORDER BY {order}", cancellationToken, [.. parameters]).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<RecordingDetails?> GetRecordingAsync(string recordingKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var summary = (await QuerySummariesAsync(connection, "WHERE r.recording_key = @key", string.Empty, cancellationToken, ("@key", recordingKey)).ConfigureAwait(false)).SingleOrDefault();
        if (summary is null)
        {
            return null;
        }

        var chunks = await QueryChunksAsync(connection, null, "c.recording_key = @key ORDER BY c.chunk_index, c.document_id", cancellationToken, ("@key", recordingKey)).ConfigureAwait(false);
        return new RecordingDetails(summary, chunks);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListRecentlyStoredRecordingsAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT DISTINCT recording_key FROM chunks WHERE stored_at >= @since;", ("@since", since.ToUnixTimeMilliseconds()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ChunkJob>> ListChunksAsync(ChunkState state, int take, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryChunksAsync(
            connection,
            null,
            "c.state = @state ORDER BY c.event_time, c.chunk_index LIMIT @take",
            cancellationToken,
            ("@state", state.ToString()), ("@take", Math.Clamp(take, 1, 1000))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<JobStatistics> GetStatisticsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var byState = Enum.GetValues<ChunkState>().ToDictionary(s => s, _ => 0);
        await using (var command = Command(connection, null, "SELECT state, COUNT(*) FROM chunks GROUP BY state;"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                byState[Enum.Parse<ChunkState>(reader.GetString(0))] = (int)reader.GetInt64(1);
            }
        }

        var oldest = await ScalarAsync(connection, null, "SELECT MIN(event_time) FROM chunks WHERE state IN ('Pending', 'Leased');", cancellationToken).ConfigureAwait(false);
        var last = await ScalarAsync(connection, null, "SELECT MAX(received_at) FROM events;", cancellationToken).ConfigureAwait(false);
        return new JobStatistics
        {
            ByState = byState,
            OldestPendingEventTime = oldest is long o ? DateTimeOffset.FromUnixTimeMilliseconds(o) : null,
            LastEventReceivedAt = last is long l ? DateTimeOffset.FromUnixTimeMilliseconds(l) : null,
        };
    }

    private async Task UpdateLeasedAsync(ChunkLease lease, string assignments, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await UpdateLeasedAsync(connection, null, lease, assignments, cancellationToken, parameters).ConfigureAwait(false);
    }

    private static async Task UpdateLeasedAsync(DbConnection connection, DbTransaction? transaction, ChunkLease lease, string assignments, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var changed = await ExecuteAsync(
            connection,
            transaction,
            $"UPDATE chunks SET {assignments} WHERE document_id = @doc AND lease_token = @token AND state = 'Leased';",
            cancellationToken,
            [.. parameters, ("@doc", lease.DocumentId), ("@token", lease.Token)]).ConfigureAwait(false);
        if (changed == 0)
        {
            throw new LeaseLostException($"The lease on chunk {lease.DocumentId} is no longer held by {lease.Owner}.");
        }
    }

    private static async Task<List<RecordingSummary>> QuerySummariesAsync(DbConnection connection, string where, string order, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var sql = $"""
            SELECT r.recording_key, r.recording_id, r.call_id, r.server_call_id, r.topic, r.start_time, r.duration_ms,
                   r.content_type, r.channel_type, r.format_type, r.session_end_reason, r.first_seen_at,
                   COUNT(c.document_id), COUNT(c.document_id) FILTER (WHERE c.state = 'Stored'), COUNT(c.document_id) FILTER (WHERE c.state = 'DeadLettered'),
                   r.stored_bytes, COUNT(c.document_id) FILTER (WHERE c.state = 'Leased'), r.participants
            FROM recordings r LEFT JOIN chunks c ON c.recording_key = r.recording_key
            {where}
            GROUP BY r.recording_key, r.recording_id, r.call_id, r.server_call_id, r.topic, r.start_time, r.duration_ms,
                     r.content_type, r.channel_type, r.format_type, r.session_end_reason, r.first_seen_at, r.stored_bytes, r.participants
            {order};
            """;
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var results = new List<RecordingSummary>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            results.Add(new RecordingSummary
            {
                Key = reader.GetString(0),
                Info = ReadRecording(reader, 0),
                FirstSeenAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)),
                Chunks = (int)reader.GetInt64(12),
                StoredChunks = (int)reader.GetInt64(13),
                DeadLetteredChunks = (int)reader.GetInt64(14),
                StoredBytes = reader.GetInt64(15),
                DownloadingChunks = (int)reader.GetInt64(16),
                Participants = reader.IsDBNull(17) ? [] : reader.GetString(17).Split('\n', StringSplitOptions.RemoveEmptyEntries),
            });
        }

        return results;
    }

    private static async Task<List<ChunkJob>> QueryChunksAsync(DbConnection connection, DbTransaction? transaction, string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, $"SELECT {ChunkColumns} FROM chunks c JOIN recordings r ON r.recording_key = c.recording_key WHERE {where};", parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new List<ChunkJob>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(ReadChunk(reader));
        }

        return jobs;
    }

    private static ChunkJob ReadChunk(DbDataReader reader)
    {
        var recording = ReadRecording(reader, 23);
        return new ChunkJob
        {
            Request = new ChunkRequest
            {
                DocumentId = reader.GetString(0),
                Recording = recording,
                Index = reader.GetInt64(1),
                EndReason = NullableString(reader, 2),
                ContentLocation = NullableUri(reader, 3),
                MetadataLocation = NullableUri(reader, 4),
                DeleteLocation = NullableUri(reader, 5),
                RejectedReason = NullableString(reader, 6),
                EventTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
            },
            ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
            State = Enum.Parse<ChunkState>(reader.GetString(9)),
            Attempts = Convert.ToInt32(reader.GetValue(10), System.Globalization.CultureInfo.InvariantCulture),
            NextAttemptAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)),
            LastError = NullableString(reader, 12),
            Media = reader.IsDBNull(13) ? null : new StoredObjectInfo(reader.GetString(13), reader.GetInt64(14), reader.GetString(15), NullableString(reader, 16)),
            Metadata = reader.IsDBNull(17) ? null : new StoredObjectInfo(reader.GetString(17), reader.GetInt64(18), reader.GetString(19), "application/json"),
            MetadataJson = NullableString(reader, 20),
            DeletedFromAcsAt = reader.IsDBNull(21) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(21)),
            StoredAt = reader.IsDBNull(22) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(22)),
        };
    }

    private static RecordingInfo ReadRecording(DbDataReader reader, int first) => new()
    {
        Key = reader.GetString(first),
        RecordingId = NullableString(reader, first + 1),
        CallId = NullableString(reader, first + 2),
        ServerCallId = NullableString(reader, first + 3),
        Topic = NullableString(reader, first + 4),
        StartTime = reader.IsDBNull(first + 5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(first + 5)),
        DurationMs = reader.IsDBNull(first + 6) ? null : reader.GetInt64(first + 6),
        ContentType = NullableString(reader, first + 7),
        ChannelType = NullableString(reader, first + 8),
        FormatType = NullableString(reader, first + 9),
        SessionEndReason = NullableString(reader, first + 10),
    };

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static Uri? NullableUri(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : new Uri(reader.GetString(ordinal));

    /// <summary>Now, in Unix milliseconds, as times are stored.</summary>
    protected long Now() => _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    private static long? Millis(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>Runs a statement; returns the rows it changed.</summary>
    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a query for one value; DBNull becomes null.</summary>
    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is DBNull ? null : value;
    }
}

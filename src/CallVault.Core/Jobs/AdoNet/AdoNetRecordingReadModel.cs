using static CallVault.Jobs.AdoNet.ChunkRows;

namespace CallVault.Jobs.AdoNet;

/// <summary>The recordings read model in SQL: lists, details, recently stored, chunks by state and statistics.</summary>
/// <param name="database">The database and its dialect.</param>
public sealed class AdoNetRecordingReadModel(RelationalDatabase database) : IRecordingReadModel
{
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
        const string Pending = $"'{ChunkStates.Pending}'";
        const string Leased = $"'{ChunkStates.Leased}'";
        const string Stored = $"'{ChunkStates.Stored}'";
        const string DeadLettered = $"'{ChunkStates.DeadLettered}'";
        switch (query.Status?.ToUpperInvariant())
        {
            case null or "":
                break;
            case "FAILED":
                conditions.Add($"{WithChunkIn}{DeadLettered})");
                break;
            case "STORED":
                conditions.Add($"{HasNot}<> {Stored})");
                break;
            case "DOWNLOADING":
                conditions.Add($"{WithChunkIn}{Leased}) AND {HasNot}= {DeadLettered})");
                break;
            case "PARTIAL":
                conditions.Add($"{WithChunkIn}{Pending}) AND {HasNot}IN ({DeadLettered}, {Leased})) AND {Has}= {Stored})");
                break;
            case "PENDING":
                conditions.Add($"{WithChunkIn}{Pending}) AND {HasNot}IN ({DeadLettered}, {Leased}, {Stored}))");
                break;
            default:
                return [];
        }

        var where = conditions.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", conditions);

        // The page's keys are chosen first from the index alone (a deep OFFSET then walks index entries, not rows),
        // and only that page's rows and chunks are read and aggregated.
        var page = $"SELECT r.recording_key FROM recordings r {where} ORDER BY {order} LIMIT @take OFFSET @skip";
        return await database.ReadAsync(
            session => QuerySummariesAsync(session, $"WHERE r.recording_key IN ({page})", $"ORDER BY {order}", cancellationToken, [.. parameters]),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<RecordingDetails?> GetRecordingAsync(string recordingKey, CancellationToken cancellationToken) => database.ReadAsync(
        async session =>
        {
            var summary = (await QuerySummariesAsync(session, "WHERE r.recording_key = @key", string.Empty, cancellationToken, ("@key", recordingKey)).ConfigureAwait(false)).SingleOrDefault();
            if (summary is null)
            {
                return null;
            }

            var chunks = await QueryAsync(session, "c.recording_key = @key ORDER BY c.chunk_index, c.document_id", cancellationToken, ("@key", recordingKey)).ConfigureAwait(false);
            return new RecordingDetails(summary, chunks);
        },
        cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListRecentlyStoredRecordingsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                "SELECT DISTINCT recording_key FROM chunks WHERE stored_at >= @since;",
                reader => reader.GetString(0),
                cancellationToken,
                ("@since", since.ToUnixTimeMilliseconds())),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<ChunkJob>> ListChunksAsync(ChunkState state, int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => QueryAsync(
                session,
                "c.state = @state ORDER BY c.event_time, c.chunk_index LIMIT @take",
                cancellationToken,
                ("@state", ChunkStates.Of(state)), ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<JobStatistics> GetStatisticsAsync(CancellationToken cancellationToken) => database.ReadAsync(
        async session =>
        {
            var byState = Enum.GetValues<ChunkState>().ToDictionary(s => s, _ => 0);
            foreach (var (state, count) in await session.QueryAsync("SELECT state, COUNT(*) FROM chunks GROUP BY state;", reader => (ChunkStates.Parse(reader.GetString(0)), (int)reader.GetInt64(1)), cancellationToken).ConfigureAwait(false))
            {
                byState[state] = count;
            }

            var oldest = await session.ScalarAsync($"SELECT MIN(event_time) FROM chunks WHERE state IN ('{ChunkStates.Pending}', '{ChunkStates.Leased}');", cancellationToken).ConfigureAwait(false);
            var last = await session.ScalarAsync("SELECT MAX(received_at) FROM events;", cancellationToken).ConfigureAwait(false);
            return new JobStatistics
            {
                ByState = byState,
                OldestPendingEventTime = oldest is long o ? DateTimeOffset.FromUnixTimeMilliseconds(o) : null,
                LastEventReceivedAt = last is long l ? DateTimeOffset.FromUnixTimeMilliseconds(l) : null,
            };
        },
        cancellationToken);

    /// <inheritdoc />
    public Task<ReconciliationReport> GetReconciliationAsync(ReconciliationQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var since = query.Since.ToUnixTimeMilliseconds();
        var until = query.Until.ToUnixTimeMilliseconds();
        return database.ReadAsync(
            async session =>
            {
                // Driven by the chunks' event time, as ACS's retention is; the period bounds how much is read.
                var chunks = await QueryAsync(
                    session,
                    "c.event_time >= @since AND c.event_time < @until ORDER BY c.recording_key, c.chunk_index, c.document_id",
                    cancellationToken,
                    ("@since", since), ("@until", until)).ConfigureAwait(false);

                // Sessions that asked ACS to write to the customer's container: their chunks are exported, not fetched.
                var exported = await session.QueryAsync(
                    """
                    SELECT s.recording_id, s.external_container FROM recording_sessions s
                    WHERE s.external_container IS NOT NULL
                      AND s.recording_id IN (SELECT r.recording_id FROM chunks c JOIN recordings r ON r.recording_key = c.recording_key WHERE c.event_time >= @since AND c.event_time < @until);
                    """,
                    reader => (Id: reader.GetString(0), Container: reader.GetString(1)),
                    cancellationToken,
                    ("@since", since), ("@until", until)).ConfigureAwait(false);

                var missingBefore = (query.Now - query.FilesMissingAfter).ToUnixTimeMilliseconds();
                var sessions = await session.QueryAsync(
                    """
                    SELECT s.recording_id, s.server_call_id, s.created_at, s.stopped_at,
                           CASE WHEN s.state = 'Stopped' AND s.stopped_at <= @missing THEN 1 ELSE 0 END
                    FROM recording_sessions s
                    WHERE s.created_at >= @since AND s.created_at < @until
                      AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.recording_id = s.recording_id)
                    ORDER BY s.created_at, s.recording_id;
                    """,
                    reader => new ReconciliationSession(
                        reader.GetString(0),
                        NullableString(reader, 1),
                        Convert.ToInt64(reader.GetValue(4), System.Globalization.CultureInfo.InvariantCulture) == 1 ? ReconciliationSessionState.FilesMissing : ReconciliationSessionState.FilesExpected,
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                        NullableTime(reader, 3)),
                    cancellationToken,
                    ("@since", since), ("@until", until), ("@missing", missingBefore)).ConfigureAwait(false);

                return ReconciliationReport.Build(query, chunks, exported.ToDictionary(e => e.Id, e => e.Container, StringComparer.Ordinal), sessions);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TimelinePoint>> GetTimelineAsync(TimelineQuery query, CancellationToken cancellationToken) =>
        TimelineStatements.ReadAsync(database, query, cancellationToken);

    private static Task<List<RecordingSummary>> QuerySummariesAsync(SqlSession session, string where, string order, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        session.QueryAsync(
            $"""
            SELECT r.recording_key, r.recording_id, r.call_id, r.server_call_id, r.topic, r.start_time, r.duration_ms,
                   r.content_type, r.channel_type, r.format_type, r.session_end_reason, r.first_seen_at,
                   COUNT(c.document_id), COUNT(c.document_id) FILTER (WHERE c.state = '{ChunkStates.Stored}'), COUNT(c.document_id) FILTER (WHERE c.state = '{ChunkStates.DeadLettered}'),
                   r.stored_bytes, COUNT(c.document_id) FILTER (WHERE c.state = '{ChunkStates.Leased}'), r.participants
            FROM recordings r LEFT JOIN chunks c ON c.recording_key = r.recording_key
            {where}
            GROUP BY r.recording_key, r.recording_id, r.call_id, r.server_call_id, r.topic, r.start_time, r.duration_ms,
                     r.content_type, r.channel_type, r.format_type, r.session_end_reason, r.first_seen_at, r.stored_bytes, r.participants
            {order};
            """,
            reader => new RecordingSummary
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
            },
            cancellationToken,
            parameters);
}

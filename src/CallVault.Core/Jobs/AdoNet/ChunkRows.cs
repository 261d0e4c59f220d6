using System.Data.Common;

namespace CallVault.Jobs.AdoNet;

/// <summary>How chunk and recording rows are read, shared by the roles that return them.</summary>
internal static class ChunkRows
{
    private const string Columns = """
        c.document_id, c.chunk_index, c.end_reason, c.content_location, c.metadata_location, c.delete_location,
        c.rejected_reason, c.event_time, c.received_at, c.state, c.attempts, c.next_attempt_at, c.last_error,
        c.media_path, c.media_length, c.media_sha256, c.media_content_type, c.metadata_path, c.metadata_length,
        c.metadata_sha256, c.metadata_json, c.deleted_from_acs_at, c.stored_at,
        r.recording_key, r.recording_id, r.call_id, r.server_call_id, r.topic, r.start_time, r.duration_ms,
        r.content_type, r.channel_type, r.format_type, r.session_end_reason,
        d.outcome, d.recorded_at, d.blob_name, c.trace_parent
        """;

    /// <summary>Chunks with their recording, filtered and ordered by <paramref name="where"/> (aliases <c>c</c> and <c>r</c>).</summary>
    public static Task<List<ChunkJob>> QueryAsync(SqlSession session, string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        session.QueryAsync($"SELECT {Columns} FROM chunks c JOIN recordings r ON r.recording_key = c.recording_key LEFT JOIN dead_letter_chunks d ON d.document_id = c.document_id WHERE {where};", ReadChunk, cancellationToken, parameters);

    private static ChunkJob ReadChunk(DbDataReader reader) => new()
    {
        Request = new ChunkRequest
        {
            DocumentId = reader.GetString(0),
            Recording = ReadRecording(reader, 23),
            Index = reader.GetInt64(1),
            EndReason = NullableString(reader, 2),
            ContentLocation = NullableUri(reader, 3),
            MetadataLocation = NullableUri(reader, 4),
            DeleteLocation = NullableUri(reader, 5),
            RejectedReason = NullableString(reader, 6),
            EventTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
            TraceParent = NullableString(reader, 37),
        },
        ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
        State = ChunkStates.Parse(reader.GetString(9)),
        Attempts = Convert.ToInt32(reader.GetValue(10), System.Globalization.CultureInfo.InvariantCulture),
        NextAttemptAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)),
        LastError = NullableString(reader, 12),
        Media = reader.IsDBNull(13) ? null : new StoredObjectInfo(reader.GetString(13), reader.GetInt64(14), reader.GetString(15), NullableString(reader, 16)),
        Metadata = reader.IsDBNull(17) ? null : new StoredObjectInfo(reader.GetString(17), reader.GetInt64(18), reader.GetString(19), "application/json"),
        MetadataJson = NullableString(reader, 20),
        DeletedFromAcsAt = NullableTime(reader, 21),
        StoredAt = NullableTime(reader, 22),
        DeadLetter = reader.IsDBNull(34) ? null : new ChunkDeadLetterOrigin(
            Enum.Parse<Recovery.DeadLetterChunkOutcome>(reader.GetString(34)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(35)),
            reader.GetString(36)),
    };

    /// <summary>The recording columns in the order <see cref="Columns"/> lists them, from <paramref name="first"/>.</summary>
    public static RecordingInfo ReadRecording(DbDataReader reader, int first) => new()
    {
        Key = reader.GetString(first),
        RecordingId = NullableString(reader, first + 1),
        CallId = NullableString(reader, first + 2),
        ServerCallId = NullableString(reader, first + 3),
        Topic = NullableString(reader, first + 4),
        StartTime = NullableTime(reader, first + 5),
        DurationMs = reader.IsDBNull(first + 6) ? null : reader.GetInt64(first + 6),
        ContentType = NullableString(reader, first + 7),
        ChannelType = NullableString(reader, first + 8),
        FormatType = NullableString(reader, first + 9),
        SessionEndReason = NullableString(reader, first + 10),
    };

    public static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static DateTimeOffset? NullableTime(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    private static Uri? NullableUri(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : new Uri(reader.GetString(ordinal));

    /// <summary>A time as stored: Unix milliseconds.</summary>
    public static long? Millis(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();
}

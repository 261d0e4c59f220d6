namespace CallVault.Jobs.Sqlite;

/// <summary>The schema, as numbered migrations applied in order at start-up.</summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        """
        CREATE TABLE events (
            event_id     TEXT PRIMARY KEY,
            event_type   TEXT NOT NULL,
            received_at  INTEGER NOT NULL
        );

        CREATE TABLE recordings (
            recording_key       TEXT PRIMARY KEY,
            recording_id        TEXT,
            call_id             TEXT,
            server_call_id      TEXT,
            topic               TEXT,
            start_time          INTEGER,
            duration_ms         INTEGER,
            content_type        TEXT,
            channel_type        TEXT,
            format_type         TEXT,
            session_end_reason  TEXT,
            first_seen_at       INTEGER NOT NULL
        );
        CREATE INDEX recordings_call ON recordings (call_id);
        CREATE INDEX recordings_first_seen ON recordings (first_seen_at);

        CREATE TABLE chunks (
            document_id         TEXT PRIMARY KEY,
            recording_key       TEXT NOT NULL REFERENCES recordings (recording_key),
            chunk_index         INTEGER NOT NULL,
            end_reason          TEXT,
            content_location    TEXT,
            metadata_location   TEXT,
            delete_location     TEXT,
            rejected_reason     TEXT,
            event_time          INTEGER NOT NULL,
            received_at         INTEGER NOT NULL,
            state               TEXT NOT NULL,
            attempts            INTEGER NOT NULL DEFAULT 0,
            next_attempt_at     INTEGER NOT NULL,
            lease_owner         TEXT,
            lease_token         TEXT,
            lease_expires_at    INTEGER,
            last_error          TEXT,
            media_path          TEXT,
            media_length        INTEGER,
            media_sha256        TEXT,
            media_content_type  TEXT,
            metadata_path       TEXT,
            metadata_length     INTEGER,
            metadata_sha256     TEXT,
            metadata_json       TEXT,
            deleted_from_acs_at INTEGER,
            stored_at           INTEGER
        );
        CREATE INDEX chunks_due ON chunks (state, next_attempt_at, event_time);
        CREATE INDEX chunks_recording ON chunks (recording_key, chunk_index);
        """,
    ];
}

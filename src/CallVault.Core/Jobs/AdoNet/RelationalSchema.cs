namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The job schema, as numbered migrations applied in order at start-up. Written once for SQLite and PostgreSQL: times
/// are Unix milliseconds in BIGINT columns, which SQLite stores as integers. Aggregates the recordings list sorts by
/// (<c>stored_bytes</c>) and the participant search terms are kept up to date on write, so that every list query is
/// an index range scan however many recordings there are.
/// </summary>
public static class RelationalSchema
{
    /// <summary>The migrations, version 1 first.</summary>
    public static readonly IReadOnlyList<string> Migrations =
    [
        """
        CREATE TABLE events (
            event_id     TEXT PRIMARY KEY,
            event_type   TEXT NOT NULL,
            received_at  BIGINT NOT NULL
        );

        CREATE TABLE recordings (
            recording_key       TEXT PRIMARY KEY,
            recording_id        TEXT,
            call_id             TEXT,
            server_call_id      TEXT,
            topic               TEXT,
            start_time          BIGINT,
            duration_ms         BIGINT,
            content_type        TEXT,
            channel_type        TEXT,
            format_type         TEXT,
            session_end_reason  TEXT,
            first_seen_at       BIGINT NOT NULL
        );
        CREATE INDEX recordings_call ON recordings (call_id);
        CREATE INDEX recordings_first_seen ON recordings (first_seen_at);

        CREATE TABLE chunks (
            document_id         TEXT PRIMARY KEY,
            recording_key       TEXT NOT NULL REFERENCES recordings (recording_key),
            chunk_index         BIGINT NOT NULL,
            end_reason          TEXT,
            content_location    TEXT,
            metadata_location   TEXT,
            delete_location     TEXT,
            rejected_reason     TEXT,
            event_time          BIGINT NOT NULL,
            received_at         BIGINT NOT NULL,
            state               TEXT NOT NULL,
            attempts            INTEGER NOT NULL DEFAULT 0,
            next_attempt_at     BIGINT NOT NULL,
            lease_owner         TEXT,
            lease_token         TEXT,
            lease_expires_at    BIGINT,
            last_error          TEXT,
            media_path          TEXT,
            media_length        BIGINT,
            media_sha256        TEXT,
            media_content_type  TEXT,
            metadata_path       TEXT,
            metadata_length     BIGINT,
            metadata_sha256     TEXT,
            metadata_json       TEXT,
            deleted_from_acs_at BIGINT,
            stored_at           BIGINT
        );
        CREATE INDEX chunks_due ON chunks (state, next_attempt_at, event_time);
        CREATE INDEX chunks_recording ON chunks (recording_key, chunk_index);
        """,
        """
        ALTER TABLE recordings ADD COLUMN participants TEXT;
        CREATE INDEX recordings_start ON recordings (start_time);
        """,
        """
        ALTER TABLE recordings ADD COLUMN stored_bytes BIGINT NOT NULL DEFAULT 0;
        UPDATE recordings SET stored_bytes = COALESCE(
            (SELECT SUM(c.media_length) FROM chunks c WHERE c.recording_key = recordings.recording_key AND c.state = 'Stored'), 0);
        DROP INDEX recordings_first_seen;
        CREATE INDEX recordings_first_seen ON recordings (first_seen_at, recording_key);
        CREATE INDEX recordings_longest ON recordings (duration_ms, recording_key);
        CREATE INDEX recordings_largest ON recordings (stored_bytes, recording_key);
        CREATE INDEX chunks_state_recording ON chunks (state, recording_key);

        CREATE TABLE recording_participants (
            participant    TEXT NOT NULL,
            recording_key  TEXT NOT NULL REFERENCES recordings (recording_key),
            PRIMARY KEY (participant, recording_key)
        );
        """,
        """
        CREATE INDEX events_received ON events (received_at);
        """,
        """
        CREATE TABLE rejected_events (
            fingerprint    TEXT PRIMARY KEY,
            event_id       TEXT,
            event_type     TEXT,
            reason         TEXT NOT NULL,
            raw_json       TEXT NOT NULL,
            raw_length     BIGINT NOT NULL,
            delivery_id    TEXT,
            first_seen_at  BIGINT NOT NULL,
            last_seen_at   BIGINT NOT NULL,
            occurrences    BIGINT NOT NULL DEFAULT 1
        );
        CREATE INDEX rejected_events_last_seen ON rejected_events (last_seen_at);
        """,
        """
        CREATE TABLE access_audit (
            id              TEXT PRIMARY KEY,
            at              BIGINT NOT NULL,
            who             TEXT NOT NULL,
            action          TEXT NOT NULL,
            recording_key   TEXT,
            document_id     TEXT,
            chunk_index     BIGINT,
            bytes           BIGINT NOT NULL,
            remote_address  TEXT,
            status          INTEGER NOT NULL,
            aborted         INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX access_audit_at ON access_audit (at, id);
        CREATE INDEX access_audit_who ON access_audit (who, at, id);
        CREATE INDEX access_audit_recording ON access_audit (recording_key, at, id);
        """,
        """
        CREATE TABLE recording_sessions (
            recording_id        TEXT PRIMARY KEY,
            server_call_id      TEXT,
            group_call_id       TEXT,
            content_type        TEXT,
            channel_type        TEXT,
            format_type         TEXT,
            pause_on_start      BIGINT NOT NULL DEFAULT 0,
            start_options       TEXT,
            external_container  TEXT,
            origin              TEXT NOT NULL,
            started_by          TEXT,
            created_at          BIGINT NOT NULL,
            state               TEXT NOT NULL,
            state_at            BIGINT NOT NULL,
            last_requested      TEXT,
            stopped_at          BIGINT,
            detail              TEXT,
            terminal            BIGINT NOT NULL DEFAULT 0,
            updated_at          BIGINT NOT NULL
        );
        CREATE INDEX recording_sessions_created ON recording_sessions (created_at, recording_id);
        CREATE INDEX recording_sessions_state ON recording_sessions (state, stopped_at);
        CREATE INDEX recording_sessions_server_call ON recording_sessions (server_call_id);

        CREATE TABLE recording_session_changes (
            recording_id  TEXT NOT NULL REFERENCES recording_sessions (recording_id),
            change_id     TEXT NOT NULL,
            occurred_at   BIGINT NOT NULL,
            received_at   BIGINT NOT NULL,
            source        TEXT NOT NULL,
            event         TEXT NOT NULL,
            state         TEXT,
            applied       BIGINT NOT NULL,
            actor         TEXT,
            detail        TEXT,
            PRIMARY KEY (recording_id, change_id)
        );

        CREATE TABLE recording_session_requests (
            idempotency_key  TEXT PRIMARY KEY,
            fingerprint      TEXT NOT NULL,
            request_id       TEXT NOT NULL,
            first_sent       BIGINT NOT NULL,
            recording_id     TEXT,
            created_at       BIGINT NOT NULL
        );

        -- A session finds its files by the recording id the Event Grid intake stores with each recording.
        CREATE INDEX recordings_recording_id ON recordings (recording_id);
        """,
        """
        CREATE TABLE dead_letter_lease (
            name        TEXT PRIMARY KEY,
            owner       TEXT NOT NULL,
            expires_at  BIGINT NOT NULL
        );

        CREATE TABLE dead_letter_blobs (
            blob_name         TEXT PRIMARY KEY,
            etag              TEXT NOT NULL,
            done_at           BIGINT NOT NULL,
            events_recovered  BIGINT NOT NULL,
            events_skipped    BIGINT NOT NULL,
            events_lost       BIGINT NOT NULL,
            events_rejected   BIGINT NOT NULL,
            new_chunks        BIGINT NOT NULL,
            rejected_reason   TEXT
        );
        CREATE INDEX dead_letter_blobs_done ON dead_letter_blobs (done_at);

        CREATE TABLE dead_letter_chunks (
            document_id     TEXT PRIMARY KEY,
            outcome         TEXT NOT NULL,
            recording_key   TEXT NOT NULL,
            recording_id    TEXT,
            call_id         TEXT,
            event_id        TEXT NOT NULL,
            chunk_index     BIGINT NOT NULL,
            event_time      BIGINT NOT NULL,
            acs_expires_at  BIGINT NOT NULL,
            blob_name       TEXT NOT NULL,
            recorded_at     BIGINT NOT NULL
        );
        CREATE INDEX dead_letter_chunks_outcome ON dead_letter_chunks (outcome, recorded_at);
        """,
        """
        -- The reconciliation report selects chunks by the time of their event.
        CREATE INDEX chunks_event_time ON chunks (event_time);
        """,
        """
        -- Retention and legal hold. A hold is never deleted: clearing it fills cleared_at, so the history stays.
        CREATE TABLE legal_holds (
            id             TEXT PRIMARY KEY,
            recording_key  TEXT NOT NULL,
            reason         TEXT NOT NULL,
            set_by         TEXT NOT NULL,
            set_at         BIGINT NOT NULL,
            cleared_by     TEXT,
            cleared_at     BIGINT
        );
        CREATE UNIQUE INDEX legal_holds_active ON legal_holds (recording_key) WHERE cleared_at IS NULL;
        CREATE INDEX legal_holds_set ON legal_holds (set_at, id);

        -- A recording being deleted: marked before its files are touched, removed once nothing is left of it.
        CREATE TABLE retention_deletions (
            recording_key  TEXT PRIMARY KEY,
            rule           TEXT NOT NULL,
            folder         TEXT NOT NULL,
            started_at     BIGINT NOT NULL
        );

        CREATE TABLE tombstones (
            recording_key   TEXT PRIMARY KEY,
            recording_id    TEXT,
            call_id         TEXT,
            server_call_id  TEXT,
            start_time      BIGINT,
            deleted_at      BIGINT NOT NULL,
            rule            TEXT NOT NULL,
            media_bytes     BIGINT NOT NULL,
            chunks_json     TEXT NOT NULL
        );
        CREATE INDEX tombstones_deleted ON tombstones (deleted_at, recording_key);

        CREATE TABLE retention_lease (
            name        TEXT PRIMARY KEY,
            owner       TEXT NOT NULL,
            expires_at  BIGINT NOT NULL
        );
        """,
        """
        -- The W3C traceparent of the span that enqueued the chunk, so that its download continues the same trace,
        -- in whichever process and after however many restarts. Null for chunks enqueued while tracing was off.
        ALTER TABLE chunks ADD COLUMN trace_parent TEXT;
        """,
        """
        -- The dashboard's timeline reads chunks stored in a period by the time they were stored; the index holds every
        -- column it reads (event time for the backlog, recording and length for the counts), so no row is visited.
        CREATE INDEX chunks_stored ON chunks (stored_at, event_time, media_length, recording_key);
        """,
    ];

    /// <summary>
    /// The version that adds <c>recording_participants</c>; applying it also fills that table from the participants
    /// already kept on the recordings.
    /// </summary>
    public const int ParticipantIndexVersion = 3;

    /// <summary>The version that adds dead-letter recovery's lease, blob progress and chunk outcomes.</summary>
    public const int DeadLetterRecoveryVersion = 8;

    /// <summary>The version that adds legal holds, deletion progress, tombstones and the retention lease.</summary>
    public const int RetentionVersion = 10;

    /// <summary>The version that adds <c>chunks.trace_parent</c>.</summary>
    public const int TraceParentVersion = 11;

    /// <summary>The version that adds the index the dashboard's timeline reads stored chunks through.</summary>
    public const int TimelineVersion = 12;
}

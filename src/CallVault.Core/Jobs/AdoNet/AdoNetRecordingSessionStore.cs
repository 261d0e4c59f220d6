using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using CallVault.Events;
using CallVault.Sessions;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The recording-session role in SQL (tables <c>recording_sessions</c>, <c>recording_session_changes</c> and
/// <c>recording_session_requests</c>). A change reads and writes its session in one write unit that holds the row
/// (<c>FOR UPDATE</c> on PostgreSQL; SQLite has one writer), so two instances receiving the same callback, or a
/// callback and an API request at once, never lose either.
/// </summary>
/// <remarks>
/// The link to the files is not written here: it is the <c>recordings</c> row with the same recording id, which the
/// Event Grid intake commits in the same transaction as the chunks. A session therefore links to its files exactly
/// when their event was committed, whichever of the two arrives first, and no crash can leave one without the other.
/// </remarks>
public sealed class AdoNetRecordingSessionStore(RelationalDatabase database) : IRecordingSessionStore
{
    private const string Columns = """
        s.recording_id, s.server_call_id, s.group_call_id, s.content_type, s.channel_type, s.format_type, s.pause_on_start,
        s.start_options, s.external_container, s.origin, s.started_by, s.created_at, s.state, s.state_at, s.last_requested,
        s.stopped_at, s.detail
        """;

    /// <summary>The files of a session, found through the recording id the intake stored; 5 values after <see cref="Columns"/>.</summary>
    private const string FilesColumns = $"""
        (SELECT MIN(r.recording_key) FROM recordings r WHERE r.recording_id = s.recording_id) AS files_key,
        (SELECT MIN(r.first_seen_at) FROM recordings r WHERE r.recording_id = s.recording_id) AS files_at,
        (SELECT COUNT(*) FROM chunks c JOIN recordings r ON r.recording_key = c.recording_key WHERE r.recording_id = s.recording_id) AS files_chunks,
        (SELECT COUNT(*) FROM chunks c JOIN recordings r ON r.recording_key = c.recording_key WHERE r.recording_id = s.recording_id AND c.state = '{ChunkStates.Stored}') AS files_stored,
        (SELECT MAX(c.stored_at) FROM chunks c JOIN recordings r ON r.recording_key = c.recording_key WHERE r.recording_id = s.recording_id) AS files_stored_at
        """;

    private const string FilesMissingCondition =
        "s.state = 'Stopped' AND s.stopped_at <= @cutoff AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.recording_id = s.recording_id)";

    /// <summary>How far ahead of its arrival a callback's own time may lie (5 minutes); later times count as this.</summary>
    private static readonly TimeSpan CallbackLeadLimit = TimeSpan.FromMinutes(5);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <inheritdoc />
    public Task<StartTicket> ClaimStartAsync(string idempotencyKey, string fingerprint, CancellationToken cancellationToken)
    {
        Require("The idempotency key", idempotencyKey);
        ArgumentException.ThrowIfNullOrEmpty(fingerprint);
        return database.WriteAsync(
            async session =>
            {
                var now = database.Now();

                // Two instances given the same key at once: one insert wins, the other waits for it and reads its row.
                await session.ExecuteAsync(
                    """
                    INSERT INTO recording_session_requests (idempotency_key, fingerprint, request_id, first_sent, created_at)
                    VALUES (@key, @fingerprint, @request, @now, @now) ON CONFLICT (idempotency_key) DO NOTHING;
                    """,
                    cancellationToken,
                    ("@key", idempotencyKey), ("@fingerprint", fingerprint), ("@request", Guid.NewGuid().ToString("D")), ("@now", now)).ConfigureAwait(false);
                var rows = await session.QueryAsync(
                    "SELECT fingerprint, request_id, first_sent, recording_id FROM recording_session_requests WHERE idempotency_key = @key;",
                    reader => new StartTicket(
                        Guid.Parse(reader.GetString(1)),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                        reader.IsDBNull(3) ? null : reader.GetString(3),
                        reader.GetString(0) == fingerprint),
                    cancellationToken,
                    ("@key", idempotencyKey)).ConfigureAwait(false);
                return rows.Single();
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<RecordingSession> RecordStartAsync(SessionStart start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        Require("The recording id", start.RecordingId);
        var state = start.AcsState.Equals("inactive", StringComparison.OrdinalIgnoreCase) ? SessionState.Paused : SessionState.Active;
        var requested = start.PauseOnStart ? SessionAction.Pause : SessionAction.Start;
        var options = JsonSerializer.Serialize(new StartOptions(start.ParticipantOrdering, start.ChannelAffinity), Json);
        var at = start.StartedAt.ToUnixTimeMilliseconds();
        await database.WriteAsync(
            async session =>
            {
                var now = database.Now();

                // The first callback may be creating the same row on another instance right now: a row that does not
                // exist yet cannot be locked, so the insert itself settles who creates it and the loser updates.
                var created = await session.ExecuteAsync(
                    """
                    INSERT INTO recording_sessions (recording_id, server_call_id, group_call_id, content_type, channel_type, format_type, pause_on_start,
                        start_options, external_container, origin, started_by, created_at, state, state_at, last_requested, updated_at)
                    VALUES (@id, @server, @group, @content, @channel, @format, @paused, @options, @container, 'Api', @actor, @now, @state, @at, @requested, @now)
                    ON CONFLICT (recording_id) DO NOTHING;
                    """,
                    cancellationToken,
                    ("@id", start.RecordingId), ("@server", start.ServerCallId), ("@group", start.GroupCallId), ("@content", start.Content),
                    ("@channel", start.Channel), ("@format", start.Format), ("@paused", start.PauseOnStart ? 1L : 0L), ("@options", options),
                    ("@container", start.ExternalStorageContainerUrl), ("@actor", start.Actor), ("@now", now), ("@state", state.ToString()),
                    ("@at", at), ("@requested", requested.ToString())).ConfigureAwait(false) > 0;
                if (!created && await LockAsync(session, start.RecordingId, cancellationToken).ConfigureAwait(false) is { } current)
                {
                    // A callback got here first (ACS may call back before it answers the start), or this is a retried
                    // start: complete what the start asked for.
                    await session.ExecuteAsync(
                        """
                        UPDATE recording_sessions SET
                            server_call_id = COALESCE(server_call_id, @server), group_call_id = COALESCE(group_call_id, @group),
                            content_type = COALESCE(content_type, @content), channel_type = COALESCE(channel_type, @channel),
                            format_type = COALESCE(format_type, @format), pause_on_start = @paused, start_options = COALESCE(start_options, @options),
                            external_container = COALESCE(external_container, @container), origin = 'Api', started_by = COALESCE(started_by, @actor),
                            last_requested = COALESCE(last_requested, @requested), updated_at = @now
                        WHERE recording_id = @id;
                        """,
                        cancellationToken,
                        ("@id", start.RecordingId), ("@server", start.ServerCallId), ("@group", start.GroupCallId), ("@content", start.Content),
                        ("@channel", start.Channel), ("@format", start.Format), ("@paused", start.PauseOnStart ? 1L : 0L), ("@options", options),
                        ("@container", start.ExternalStorageContainerUrl), ("@actor", start.Actor), ("@requested", requested.ToString()), ("@now", now)).ConfigureAwait(false);
                    if (!current.Terminal)
                    {
                        // The start's time is on CallVault's clock and a callback's on ACS's, so the two are never
                        // compared: before any callback the start's answer is the state; after one, the last callback
                        // is read again in the light of what the start asked (inactive with pauseOnStart is a pause).
                        var asked = current.LastRequested ?? requested;
                        var settled = await LastAppliedObservedStateAsync(session, current.RecordingId, cancellationToken).ConfigureAwait(false) switch
                        {
                            null => state,
                            "active" => SessionState.Active,
                            "inactive" => start.PauseOnStart || asked == SessionAction.Pause ? SessionState.Paused : SessionState.Stopped,
                            _ => current.State,
                        };
                        await SetStateAsync(session, current, settled, current.StateAt, null, now, terminal: false, cancellationToken).ConfigureAwait(false);
                    }
                }

                await AddChangeAsync(session, start.RecordingId, "start", at, now, SessionChangeSource.Api, "start", state, applied: true, start.Actor, null, cancellationToken).ConfigureAwait(false);
                if (start.IdempotencyKey is { } key)
                {
                    await session.ExecuteAsync(
                        "UPDATE recording_session_requests SET recording_id = @id WHERE idempotency_key = @key;",
                        cancellationToken,
                        ("@id", start.RecordingId), ("@key", key)).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken).ConfigureAwait(false);
        return (await GetAsync(start.RecordingId, TimeSpan.MaxValue, cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public Task<SessionChangeOutcome> RecordChangeAsync(SessionChange change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        Require("The change id", change.ChangeId);
        var kinds = (change.Requested is null ? 0 : 1) + (change.ObservedState is null ? 0 : 1) + (change.StartFailed ? 1 : 0);
        if (kinds != 1)
        {
            throw new ArgumentException("A change is exactly one of: a request, an observed state, a failed start.", nameof(change));
        }

        if (change.ObservedState is { } observed && !observed.Equals("active", StringComparison.OrdinalIgnoreCase) && !observed.Equals("inactive", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"An observed state is 'active' or 'inactive', not '{observed}'.", nameof(change));
        }

        if (change.RecordingId is null && !change.StartFailed)
        {
            throw new ArgumentException("Only a failed start may come without a recording id.", nameof(change));
        }

        var occurredAt = change.OccurredAt.ToUnixTimeMilliseconds();
        var eventName = change.Requested is { } action ? action.ToString().ToLowerInvariant()
            : change.StartFailed ? "startFailed"
            : change.ObservedState!.ToLowerInvariant();
        var detail = Cut(change.Detail, 2_048);
        var actor = Cut(change.Actor, StoredText.MaxIndexedLength);
        return database.WriteAsync(
            async session =>
            {
                var now = database.Now();

                // One callback dated far ahead (a wrong clock) would otherwise make every later callback look stale.
                var at = change.Source == SessionChangeSource.Api ? occurredAt : Math.Min(occurredAt, now + (long)CallbackLeadLimit.TotalMilliseconds);
                if (change.RecordingId is null)
                {
                    // Without a recording id a redelivery would match whichever session of the call is live by then.
                    if (await SeenOnCallAsync(session, change.ServerCallId, change.ChangeId, cancellationToken).ConfigureAwait(false))
                    {
                        return SessionChangeOutcome.Duplicate;
                    }
                }
                else if (change.Source != SessionChangeSource.Api)
                {
                    // Someone else started it (or its start is not recorded yet): follow it from its first callback.
                    // The insert settles a race with the start creating the same row; the loser takes the update path.
                    var first = Interpret(change, lastRequested: null);
                    var created = await session.ExecuteAsync(
                        """
                        INSERT INTO recording_sessions (recording_id, server_call_id, origin, created_at, state, state_at, stopped_at, detail, terminal, updated_at)
                        VALUES (@id, @server, 'Callback', @now, @state, @at, @stopped, @detail, @terminal, @now) ON CONFLICT (recording_id) DO NOTHING;
                        """,
                        cancellationToken,
                        ("@id", change.RecordingId), ("@server", Cut(change.ServerCallId, StoredText.MaxIndexedLength)), ("@now", now), ("@state", first.ToString()),
                        ("@at", at), ("@stopped", first == SessionState.Stopped ? now : null), ("@detail", detail),
                        ("@terminal", first == SessionState.Failed ? 1L : 0L)).ConfigureAwait(false) > 0;
                    if (created)
                    {
                        await AddChangeAsync(session, change.RecordingId, change.ChangeId, at, now, change.Source, eventName, first, applied: true, actor, detail, cancellationToken).ConfigureAwait(false);
                        return SessionChangeOutcome.Applied;
                    }
                }

                var current = change.RecordingId is { } id
                    ? await LockAsync(session, id, cancellationToken).ConfigureAwait(false)
                    : await LockLatestOfCallAsync(session, change.ServerCallId, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    return SessionChangeOutcome.UnknownSession;
                }

                var requested = change.Requested ?? current.LastRequested;
                var state = Interpret(change, requested);

                // A request through the API is always news (ACS just accepted it). A callback is news when it is not
                // older than the last callback applied: callbacks carry ACS's clock and requests CallVault's, so they are
                // ordered only among themselves (a skew between the two clocks would otherwise make every callback look
                // stale, and the end of a call would never end its session). Nothing undoes a stop that was asked for.
                // A failed start cannot follow a callback that already saw the recording active.
                var applied = !current.Terminal
                    && (change.Source == SessionChangeSource.Api || await LastAppliedObservationAsync(session, current.RecordingId, cancellationToken).ConfigureAwait(false) is not { } last || at >= last)
                    && !(change.StartFailed && await ConfirmedActiveAsync(session, current.RecordingId, cancellationToken).ConfigureAwait(false));
                if (!await AddChangeAsync(session, current.RecordingId, change.ChangeId, at, now, change.Source, eventName, state, applied, actor, detail, cancellationToken).ConfigureAwait(false))
                {
                    return SessionChangeOutcome.Duplicate;
                }

                if (!applied)
                {
                    // A late request (a pause recorded after the stop) must not change what the last request was:
                    // that would turn the stopped session's next "inactive" into a pause.
                    return SessionChangeOutcome.Stale;
                }

                if (change.Requested is { } asked)
                {
                    await session.ExecuteAsync(
                        "UPDATE recording_sessions SET last_requested = @requested, updated_at = @now WHERE recording_id = @id;",
                        cancellationToken,
                        ("@requested", asked.ToString()), ("@now", now), ("@id", current.RecordingId)).ConfigureAwait(false);
                }

                var terminal = state == SessionState.Failed || (state == SessionState.Stopped && requested == SessionAction.Stop);
                await SetStateAsync(session, current, state, Math.Max(at, current.StateAt), detail, now, terminal, cancellationToken).ConfigureAwait(false);
                return SessionChangeOutcome.Applied;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<SessionAction?> NoteRequestAsync(string recordingId, SessionAction? action, SessionAction? previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordingId);
        return database.WriteAsync(
            async session =>
            {
                var current = await LockAsync(session, recordingId, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    return null;
                }

                if (current.Terminal)
                {
                    // Nothing reopens an ended session, and a noted request would change how its callbacks read.
                    return current.LastRequested;
                }

                await session.ExecuteAsync(
                    "UPDATE recording_sessions SET last_requested = @requested, updated_at = @now WHERE recording_id = @id;",
                    cancellationToken,
                    ("@requested", (action ?? previous)?.ToString()), ("@now", database.Now()), ("@id", recordingId)).ConfigureAwait(false);
                return current.LastRequested;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<SessionChangeOutcome> RecordGoneAsync(string recordingId, string? actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordingId);
        return database.WriteAsync(
            async session =>
            {
                var current = await LockAsync(session, recordingId, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    return SessionChangeOutcome.UnknownSession;
                }

                var now = database.Now();
                await AddChangeAsync(
                    session, recordingId, "gone-" + Guid.NewGuid().ToString("N"), now, now, SessionChangeSource.Api, "gone", SessionState.Stopped, applied: !current.Terminal,
                    Cut(actor, StoredText.MaxIndexedLength), "ACS no longer knows the recording: its call ended.", cancellationToken).ConfigureAwait(false);
                if (current.Terminal)
                {
                    return SessionChangeOutcome.Stale;
                }

                await SetStateAsync(session, current, SessionState.Stopped, current.StateAt, null, now, terminal: true, cancellationToken).ConfigureAwait(false);
                return SessionChangeOutcome.Applied;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<RecordingSession?> GetAsync(string recordingId, TimeSpan filesMissingAfter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordingId);
        return await database.ReadAsync(
            async session =>
            {
                var cutoff = Cutoff(filesMissingAfter);
                var found = await session.QueryAsync(
                    $"SELECT {Columns}, {FilesColumns} FROM recording_sessions s WHERE s.recording_id = @id;",
                    reader => Read(reader, cutoff),
                    cancellationToken,
                    ("@id", recordingId)).ConfigureAwait(false);
                if (found is not [var row])
                {
                    return null;
                }

                var history = await session.QueryAsync(
                    """
                    SELECT occurred_at, received_at, source, event, state, applied, actor, detail FROM recording_session_changes
                    WHERE recording_id = @id ORDER BY occurred_at, received_at, change_id;
                    """,
                    reader => new SessionHistoryEntry(
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                        Enum.Parse<SessionChangeSource>(reader.GetString(2)),
                        reader.GetString(3),
                        reader.IsDBNull(4) ? null : Enum.Parse<SessionState>(reader.GetString(4)),
                        reader.GetInt64(5) != 0,
                        reader.IsDBNull(6) ? null : reader.GetString(6),
                        reader.IsDBNull(7) ? null : reader.GetString(7)),
                    cancellationToken,
                    ("@id", recordingId)).ConfigureAwait(false);
                if (row.Files is { } files)
                {
                    // The files are events of the timeline too, taken from the recording they link to.
                    history.Add(new SessionHistoryEntry(files.ArrivedAt, files.ArrivedAt, SessionChangeSource.Event, "filesArrived", null, true, null, $"Recording {files.RecordingKey}: {files.Chunks} chunk(s)."));
                    if (files.StoredAt is { } storedAt)
                    {
                        history.Add(new SessionHistoryEntry(storedAt, storedAt, SessionChangeSource.Event, "stored", null, true, null, $"{files.StoredChunks} chunk(s) stored."));
                    }
                }

                return row with { History = [.. history.OrderBy(h => h.At).ThenBy(h => h.ReceivedAt)] };
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecordingSession>> ListAsync(SessionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var conditions = new List<string>();
        var cutoff = Cutoff(query.FilesMissingAfter);
        var parameters = new List<(string, object?)> { ("@take", (long)Math.Clamp(query.Take, 1, 500)), ("@skip", (long)Math.Max(query.Skip, 0)), ("@cutoff", cutoff) };
        if (query.State is { } state)
        {
            conditions.Add("s.state = @state");
            parameters.Add(("@state", state.ToString()));
        }

        if (query.FilesMissing is { } missing)
        {
            conditions.Add(missing ? $"({FilesMissingCondition})" : $"NOT ({FilesMissingCondition})");
        }

        var where = conditions.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", conditions);
        return await database.ReadAsync(
            session => session.QueryAsync(
                $"SELECT {Columns}, {FilesColumns} FROM recording_sessions s {where} ORDER BY s.created_at DESC, s.recording_id DESC LIMIT @take OFFSET @skip;",
                reader => Read(reader, cutoff),
                cancellationToken,
                [.. parameters]),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<long> CountFilesMissingAsync(TimeSpan filesMissingAfter, CancellationToken cancellationToken) => database.ReadAsync(
        async session => Convert.ToInt64(
            await session.ScalarAsync($"SELECT COUNT(*) FROM recording_sessions s WHERE {FilesMissingCondition};", cancellationToken, ("@cutoff", Cutoff(filesMissingAfter))).ConfigureAwait(false),
            CultureInfo.InvariantCulture),
        cancellationToken);

    /// <summary>What a change means for the session: an inactive recording is paused if a pause was the last thing asked, else it ended.</summary>
    private static SessionState Interpret(SessionChange change, SessionAction? lastRequested) => change switch
    {
        { StartFailed: true } => SessionState.Failed,
        { Requested: SessionAction.Pause } => SessionState.Paused,
        { Requested: SessionAction.Stop } => SessionState.Stopped,
        { Requested: not null } => SessionState.Active,
        _ when change.ObservedState!.Equals("active", StringComparison.OrdinalIgnoreCase) => SessionState.Active,
        _ => lastRequested == SessionAction.Pause ? SessionState.Paused : SessionState.Stopped,
    };

    private static async Task SetStateAsync(SqlSession session, Current current, SessionState state, long at, string? detail, long now, bool terminal, CancellationToken cancellationToken) =>
        await session.ExecuteAsync(
            "UPDATE recording_sessions SET state = @state, state_at = @at, stopped_at = @stopped, detail = COALESCE(@detail, detail), terminal = @terminal, updated_at = @now WHERE recording_id = @id;",
            cancellationToken,
            ("@state", state.ToString()), ("@at", at), ("@detail", detail), ("@now", now), ("@id", current.RecordingId), ("@terminal", terminal ? 1L : 0L),

            // The files-missing window runs from when CallVault learnt of the stop, on its own clock.
            ("@stopped", state == SessionState.Stopped ? current.StoppedAt ?? now : null)).ConfigureAwait(false);

    /// <summary>The time (ACS's clock, Unix ms) of the newest callback or event applied to the session; null before the first.</summary>
    private static async Task<long?> LastAppliedObservationAsync(SqlSession session, string recordingId, CancellationToken cancellationToken) =>
        await session.ScalarAsync(
            "SELECT MAX(occurred_at) FROM recording_session_changes WHERE recording_id = @id AND applied = 1 AND source <> @api;",
            cancellationToken,
            ("@id", recordingId), ("@api", nameof(SessionChangeSource.Api))).ConfigureAwait(false) is { } value and not DBNull
            ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    /// <summary>What the newest applied callback saw ("active" or "inactive"); null before the first.</summary>
    private static async Task<string?> LastAppliedObservedStateAsync(SqlSession session, string recordingId, CancellationToken cancellationToken) =>
        (await session.QueryAsync(
            """
            SELECT event FROM recording_session_changes WHERE recording_id = @id AND applied = 1 AND source = @callback AND event IN ('active', 'inactive')
            ORDER BY occurred_at DESC, received_at DESC, change_id DESC LIMIT 1;
            """,
            reader => reader.GetString(0),
            cancellationToken,
            ("@id", recordingId), ("@callback", nameof(SessionChangeSource.Callback))).ConfigureAwait(false)).SingleOrDefault();

    /// <summary>Whether any callback has seen the recording active.</summary>
    private static async Task<bool> ConfirmedActiveAsync(SqlSession session, string recordingId, CancellationToken cancellationToken) =>
        Convert.ToInt64(
            await session.ScalarAsync(
                "SELECT COUNT(*) FROM recording_session_changes WHERE recording_id = @id AND source = @callback AND event = 'active';",
                cancellationToken,
                ("@id", recordingId), ("@callback", nameof(SessionChangeSource.Callback))).ConfigureAwait(false),
            CultureInfo.InvariantCulture) > 0;

    /// <summary>Whether a change id was already recorded on any session of the call.</summary>
    private static async Task<bool> SeenOnCallAsync(SqlSession session, string? serverCallId, string changeId, CancellationToken cancellationToken) =>
        serverCallId is not null && Convert.ToInt64(
            await session.ScalarAsync(
                """
                SELECT COUNT(*) FROM recording_session_changes c JOIN recording_sessions s ON s.recording_id = c.recording_id
                WHERE s.server_call_id = @server AND c.change_id = @change;
                """,
                cancellationToken,
                ("@server", serverCallId), ("@change", Cut(changeId, StoredText.MaxIndexedLength))).ConfigureAwait(false),
            CultureInfo.InvariantCulture) > 0;

    /// <summary>Adds a history entry; false when the change was recorded before.</summary>
    private static async Task<bool> AddChangeAsync(
        SqlSession session, string recordingId, string changeId, long at, long now, SessionChangeSource source, string eventName, SessionState? state, bool applied, string? actor, string? detail, CancellationToken cancellationToken) =>
        await session.ExecuteAsync(
            """
            INSERT INTO recording_session_changes (recording_id, change_id, occurred_at, received_at, source, event, state, applied, actor, detail)
            VALUES (@id, @change, @at, @now, @source, @event, @state, @applied, @actor, @detail) ON CONFLICT (recording_id, change_id) DO NOTHING;
            """,
            cancellationToken,
            ("@id", recordingId), ("@change", Cut(changeId, StoredText.MaxIndexedLength)), ("@at", at), ("@now", now), ("@source", source.ToString()),
            ("@event", eventName), ("@state", state?.ToString()), ("@applied", applied ? 1L : 0L), ("@actor", actor), ("@detail", detail)).ConfigureAwait(false) > 0;

    private async Task<Current?> LockAsync(SqlSession session, string recordingId, CancellationToken cancellationToken) =>
        (await session.QueryAsync(
            $"SELECT recording_id, state, state_at, last_requested, stopped_at, terminal FROM recording_sessions WHERE recording_id = @id {database.LockRowsClause};",
            ReadCurrent,
            cancellationToken,
            ("@id", recordingId)).ConfigureAwait(false)).SingleOrDefault();

    private async Task<Current?> LockLatestOfCallAsync(SqlSession session, string? serverCallId, CancellationToken cancellationToken) =>
        serverCallId is null ? null : (await session.QueryAsync(
            $"""
            SELECT recording_id, state, state_at, last_requested, stopped_at, terminal FROM recording_sessions
            WHERE server_call_id = @server AND state IN ('Active', 'Paused') ORDER BY created_at DESC, recording_id DESC LIMIT 1 {database.LockRowsClause};
            """,
            ReadCurrent,
            cancellationToken,
            ("@server", serverCallId)).ConfigureAwait(false)).SingleOrDefault();

    private static Current ReadCurrent(DbDataReader reader) => new(
        reader.GetString(0),
        Enum.Parse<SessionState>(reader.GetString(1)),
        reader.GetInt64(2),
        reader.IsDBNull(3) ? null : Enum.Parse<SessionAction>(reader.GetString(3)),
        reader.IsDBNull(4) ? null : reader.GetInt64(4),
        reader.GetInt64(5) != 0);

    private static RecordingSession Read(DbDataReader reader, long cutoff)
    {
        var options = reader.IsDBNull(7) ? null : JsonSerializer.Deserialize<StartOptions>(reader.GetString(7), Json);
        var state = Enum.Parse<SessionState>(reader.GetString(12));
        long? stoppedAt = reader.IsDBNull(15) ? null : reader.GetInt64(15);
        SessionFiles? files = null;
        if (!reader.IsDBNull(17))
        {
            var chunks = reader.GetInt64(19);
            var stored = reader.GetInt64(20);
            files = new SessionFiles(
                reader.GetString(17),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(18)),
                chunks,
                stored,
                chunks > 0 && stored == chunks && !reader.IsDBNull(21) ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(21)) : null);
        }

        return new RecordingSession
        {
            RecordingId = reader.GetString(0),
            ServerCallId = reader.IsDBNull(1) ? null : reader.GetString(1),
            GroupCallId = reader.IsDBNull(2) ? null : reader.GetString(2),
            Content = reader.IsDBNull(3) ? null : reader.GetString(3),
            Channel = reader.IsDBNull(4) ? null : reader.GetString(4),
            Format = reader.IsDBNull(5) ? null : reader.GetString(5),
            PauseOnStart = reader.GetInt64(6) != 0,
            ParticipantOrdering = options?.ParticipantOrdering ?? [],
            ChannelAffinity = options?.ChannelAffinity ?? [],
            ExternalStorageContainerUrl = reader.IsDBNull(8) ? null : reader.GetString(8),
            Origin = Enum.Parse<SessionChangeSource>(reader.GetString(9)),
            StartedBy = reader.IsDBNull(10) ? null : reader.GetString(10),
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)),
            State = state,
            StateChangedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(13)),
            LastRequested = reader.IsDBNull(14) ? null : Enum.Parse<SessionAction>(reader.GetString(14)),
            StoppedAt = stoppedAt is { } stopped ? DateTimeOffset.FromUnixTimeMilliseconds(stopped) : null,
            Detail = reader.IsDBNull(16) ? null : reader.GetString(16),
            Files = files,
            FilesMissing = state == SessionState.Stopped && stoppedAt <= cutoff && files is null,
        };
    }

    /// <summary>The latest stop time that counts as missing its files now; a window too large to subtract means never.</summary>
    private long Cutoff(TimeSpan filesMissingAfter)
    {
        var now = database.Now();
        var window = (long)Math.Min(filesMissingAfter.TotalMilliseconds, long.MaxValue / 2.0);
        return now - Math.Max(window, 0);
    }

    private static void Require(string what, string value)
    {
        if (StoredText.Problem(what, value, StoredText.MaxIndexedLength, required: true) is { } problem)
        {
            throw new ArgumentException(problem, nameof(value));
        }
    }

    private static string? Cut(string? text, int maxLength)
    {
        if (text is null)
        {
            return null;
        }

        var cut = text.Length > maxLength ? text[..maxLength] : text;
        return StoredText.IsClean(cut) ? cut : new string([.. cut.Select(c => c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c)]);
    }

    // Terminal: stopped on request, or failed to start, and nothing later changes it. It is stored rather than derived
    // from last_requested, because a late request may not rewrite what decided it.
    private sealed record Current(string RecordingId, SessionState State, long StateAt, SessionAction? LastRequested, long? StoppedAt, bool Terminal);

    private sealed record StartOptions(IReadOnlyList<string> ParticipantOrdering, IReadOnlyList<SessionChannelAffinity> ChannelAffinity);
}

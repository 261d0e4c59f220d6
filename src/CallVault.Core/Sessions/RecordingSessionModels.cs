namespace CallVault.Sessions;

/// <summary>The state of a recording session as CallVault understands it.</summary>
public enum SessionState
{
    /// <summary>Recording.</summary>
    Active,

    /// <summary>Paused on request (or started paused): inactive, but expected to resume.</summary>
    Paused,

    /// <summary>Inactive for good: stopped on request, or inactive without a pause asked for (the call ended). Files are expected.</summary>
    Stopped,

    /// <summary>Call Automation reported that the recording could not start. No files are expected.</summary>
    Failed,
}

/// <summary>Where a change of a session came from.</summary>
public enum SessionChangeSource
{
    /// <summary>A request through CallVault's API.</summary>
    Api,

    /// <summary>A Call Automation callback (<c>RecordingStateChanged</c>, <c>StartRecordingFailed</c>).</summary>
    Callback,

    /// <summary>An Event Grid event (the recording's files arrived, and were stored).</summary>
    Event,
}

/// <summary>What was asked of a recording through the API.</summary>
public enum SessionAction
{
    /// <summary>Start recording.</summary>
    Start,

    /// <summary>Pause (also a start with <c>pauseOnStart</c>).</summary>
    Pause,

    /// <summary>Resume after a pause.</summary>
    Resume,

    /// <summary>Stop for good.</summary>
    Stop,
}

/// <summary>What recording a change did to its session.</summary>
public enum SessionChangeOutcome
{
    /// <summary>Kept in the history and applied: the session's state is the change's.</summary>
    Applied,

    /// <summary>Kept in the history, but older than the state it would replace (or the session was stopped on request), so the state stands.</summary>
    Stale,

    /// <summary>The same change was recorded before; nothing changed.</summary>
    Duplicate,

    /// <summary>No session matches and none was created (an API request for an unknown recording, or a failure without a recording id).</summary>
    UnknownSession,
}

/// <summary>Which participant an unmixed recording puts on a channel.</summary>
/// <param name="Channel">The channel, 0-4.</param>
/// <param name="Participant">The participant's raw id (e.g. <c>8:acs:...</c> or <c>4:+1425...</c>).</param>
public sealed record SessionChannelAffinity(int Channel, string Participant);

/// <summary>A recording Call Automation started, to record with <see cref="IRecordingSessionStore.RecordStartAsync"/>.</summary>
public sealed record SessionStart
{
    /// <summary>The recording id ACS answered.</summary>
    public required string RecordingId { get; init; }

    /// <summary>The server call id, when the call was located by it.</summary>
    public string? ServerCallId { get; init; }

    /// <summary>The group call id, when the call was located by it.</summary>
    public string? GroupCallId { get; init; }

    /// <summary><c>audio</c> or <c>audioVideo</c>, as asked (null: ACS's default).</summary>
    public string? Content { get; init; }

    /// <summary><c>mixed</c> or <c>unmixed</c>, as asked (null: ACS's default).</summary>
    public string? Channel { get; init; }

    /// <summary><c>wav</c>, <c>mp3</c> or <c>mp4</c>, as asked (null: ACS's default).</summary>
    public string? Format { get; init; }

    /// <summary>Whether the recording started paused.</summary>
    public bool PauseOnStart { get; init; }

    /// <summary>Raw participant ids in channel order (unmixed audio).</summary>
    public IReadOnlyList<string> ParticipantOrdering { get; init; } = [];

    /// <summary>Channel affinity, as asked.</summary>
    public IReadOnlyList<SessionChannelAffinity> ChannelAffinity { get; init; } = [];

    /// <summary>Bring Your Own Storage: the customer's container the files go to; null for ACS's storage.</summary>
    public string? ExternalStorageContainerUrl { get; init; }

    /// <summary>The state ACS answered: <c>active</c>, or <c>inactive</c> when started paused.</summary>
    public required string AcsState { get; init; }

    /// <summary>Who asked (the API caller's name); null when unknown.</summary>
    public string? Actor { get; init; }

    /// <summary>When ACS answered the start.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>The client's idempotency key (scoped to the caller) to tie to the recording, if the request had one.</summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>The repeatability values of a start request, from <see cref="IRecordingSessionStore.ClaimStartAsync"/>.</summary>
/// <param name="RequestId">The <c>Repeatability-Request-ID</c> to send, the same on every retry.</param>
/// <param name="FirstSent">The <c>Repeatability-First-Sent</c> to send, the same on every retry.</param>
/// <param name="RecordingId">The recording this key already started, once its start was recorded.</param>
/// <param name="SameRequest">False when the key was first used with a different request body.</param>
public sealed record StartTicket(Guid RequestId, DateTimeOffset FirstSent, string? RecordingId, bool SameRequest);

/// <summary>A change of a session's state, to record with <see cref="IRecordingSessionStore.RecordChangeAsync"/>. Exactly one of <see cref="Requested"/>, <see cref="ObservedState"/> and <see cref="StartFailed"/> is set.</summary>
public sealed record SessionChange
{
    /// <summary>The recording id; may be null only for a <see cref="StartFailed"/> change, matched then by <see cref="ServerCallId"/>.</summary>
    public string? RecordingId { get; init; }

    /// <summary>Identifies the change, for idempotency: the callback's CloudEvent id, or a fresh id for an API request (1-256 characters).</summary>
    public required string ChangeId { get; init; }

    /// <summary>Where the change came from.</summary>
    public required SessionChangeSource Source { get; init; }

    /// <summary>Who asked (the API caller's name), or who reported it; null when unknown.</summary>
    public string? Actor { get; init; }

    /// <summary>When it happened: the callback's event time, or when ACS accepted the request. Orders changes that arrive out of order.</summary>
    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>What the API asked for (and ACS accepted).</summary>
    public SessionAction? Requested { get; init; }

    /// <summary>The state a callback reported: <c>active</c> or <c>inactive</c>.</summary>
    public string? ObservedState { get; init; }

    /// <summary>Whether this is a <c>StartRecordingFailed</c> callback.</summary>
    public bool StartFailed { get; init; }

    /// <summary>The server call id the callback names, if any.</summary>
    public string? ServerCallId { get; init; }

    /// <summary>A short explanation (a callback's result message), if any.</summary>
    public string? Detail { get; init; }
}

/// <summary>The files that arrived for a session (the stored recording it links to).</summary>
/// <param name="RecordingKey">The recording's key in <c>/api/recordings</c>.</param>
/// <param name="ArrivedAt">When its first event was received.</param>
/// <param name="Chunks">Chunks announced.</param>
/// <param name="StoredChunks">Chunks stored.</param>
/// <param name="StoredAt">When the last chunk was stored, once all are.</param>
public sealed record SessionFiles(string RecordingKey, DateTimeOffset ArrivedAt, long Chunks, long StoredChunks, DateTimeOffset? StoredAt);

/// <summary>One entry of a session's history.</summary>
/// <param name="At">When it happened (the change's time).</param>
/// <param name="ReceivedAt">When CallVault recorded it.</param>
/// <param name="Source">Where it came from.</param>
/// <param name="Event">What happened: <c>start</c>, <c>pause</c>, <c>resume</c>, <c>stop</c> (asked), <c>active</c>, <c>inactive</c>, <c>startFailed</c> (reported), <c>filesArrived</c>, <c>stored</c>.</param>
/// <param name="State">The session's state this change means (the state it set, when <paramref name="Applied"/>).</param>
/// <param name="Applied">Whether it set the session's state (false: it arrived after a newer change).</param>
/// <param name="Actor">Who asked, if known.</param>
/// <param name="Detail">A short explanation, if any.</param>
public sealed record SessionHistoryEntry(DateTimeOffset At, DateTimeOffset ReceivedAt, SessionChangeSource Source, string Event, SessionState? State, bool Applied, string? Actor, string? Detail);

/// <summary>A recording session.</summary>
public sealed record RecordingSession
{
    /// <summary>The recording id.</summary>
    public required string RecordingId { get; init; }

    /// <summary>The server call id, if known.</summary>
    public string? ServerCallId { get; init; }

    /// <summary>The group call id, if the recording was started by it.</summary>
    public string? GroupCallId { get; init; }

    /// <summary>Content type asked for, if started through CallVault.</summary>
    public string? Content { get; init; }

    /// <summary>Channel type asked for.</summary>
    public string? Channel { get; init; }

    /// <summary>Format asked for.</summary>
    public string? Format { get; init; }

    /// <summary>Whether it started paused.</summary>
    public bool PauseOnStart { get; init; }

    /// <summary>Participant ordering asked for.</summary>
    public IReadOnlyList<string> ParticipantOrdering { get; init; } = [];

    /// <summary>Channel affinity asked for.</summary>
    public IReadOnlyList<SessionChannelAffinity> ChannelAffinity { get; init; } = [];

    /// <summary>Bring Your Own Storage container, if any: the files are expected there.</summary>
    public string? ExternalStorageContainerUrl { get; init; }

    /// <summary><see cref="SessionChangeSource.Api"/> when started through CallVault, <see cref="SessionChangeSource.Callback"/> when first seen in a callback.</summary>
    public SessionChangeSource Origin { get; init; }

    /// <summary>Who started it, if started through CallVault and known.</summary>
    public string? StartedBy { get; init; }

    /// <summary>When CallVault first recorded it.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The current state.</summary>
    public SessionState State { get; init; }

    /// <summary>When the change that set the current state happened.</summary>
    public DateTimeOffset StateChangedAt { get; init; }

    /// <summary>The last thing asked of it through the API.</summary>
    public SessionAction? LastRequested { get; init; }

    /// <summary>When CallVault recorded it as stopped (the files-missing window runs from here); null unless stopped.</summary>
    public DateTimeOffset? StoppedAt { get; init; }

    /// <summary>The last explanation a change gave, if any.</summary>
    public string? Detail { get; init; }

    /// <summary>The stored recording it links to, once its files arrived.</summary>
    public SessionFiles? Files { get; init; }

    /// <summary>Stopped longer ago than the files-missing window, and no files arrived.</summary>
    public bool FilesMissing { get; init; }

    /// <summary>Every change, oldest first (empty in lists).</summary>
    public IReadOnlyList<SessionHistoryEntry> History { get; init; } = [];
}

/// <summary>A page of sessions.</summary>
public sealed record SessionQuery
{
    /// <summary>Sessions to skip. Default 0.</summary>
    public int Skip { get; init; }

    /// <summary>Sessions to return, 1-500. Default 50.</summary>
    public int Take { get; init; } = 50;

    /// <summary>Only sessions in this state.</summary>
    public SessionState? State { get; init; }

    /// <summary>Only sessions missing their files (true) or not (false).</summary>
    public bool? FilesMissing { get; init; }

    /// <summary>How long a stopped session may wait for its files. Default 30 minutes.</summary>
    public TimeSpan FilesMissingAfter { get; init; } = TimeSpan.FromMinutes(30);
}

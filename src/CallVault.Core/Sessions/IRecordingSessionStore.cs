namespace CallVault.Sessions;

/// <summary>
/// Recording sessions: the recordings started (by CallVault, or by anyone whose callbacks reach it) through Call
/// Automation, their state and every change of it, and the files that arrived for them. A role of the job database;
/// implementations share its connections.
/// </summary>
/// <remarks>
/// Contract every implementation honours (checked by the recording-session contract tests on every backend):
/// <list type="bullet">
/// <item>Every write is idempotent: the same change (same <see cref="SessionChange.ChangeId"/>) recorded twice is one
/// entry of the history, and the same start recorded twice is one session.</item>
/// <item>Out-of-order tolerant: a change older (by <see cref="SessionChange.OccurredAt"/>) than the one that set the
/// current state is kept in the history but does not change the state; a session stopped on request stays stopped.</item>
/// <item>Safe with several instances: a change reads and writes the session in one transaction holding its row.</item>
/// <item>The link to the stored recording is the recording row the Event Grid intake commits with its chunks (matched
/// by recording id), so it exists exactly when the files' event was committed and no crash can lose it.</item>
/// </list>
/// </remarks>
public interface IRecordingSessionStore
{
    /// <summary>
    /// Takes the repeatability id and first-sent time for a start request carrying a client's idempotency key: the
    /// first call with a key creates them, later calls with the same key return the same values (and the recording id
    /// once the start was recorded), so a retried start is never a second recording.
    /// </summary>
    /// <param name="idempotencyKey">The client's key, already scoped to the caller (1-256 characters).</param>
    /// <param name="fingerprint">A digest of the request body, to tell a retry from a different request under the same key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<StartTicket> ClaimStartAsync(string idempotencyKey, string fingerprint, CancellationToken cancellationToken);

    /// <summary>
    /// Records a recording that Call Automation started: creates its session, or completes the one a callback created
    /// first, and adds the "started" entry to the history. Ties the idempotency key, if any, to the recording.
    /// </summary>
    Task<RecordingSession> RecordStartAsync(SessionStart start, CancellationToken cancellationToken);

    /// <summary>Records a state change (a request through the API, or a callback); creates the session when a callback names an unknown recording.</summary>
    /// <returns>What the change did; <see cref="SessionChangeOutcome.UnknownSession"/> only for a change whose recording id is null and matches no session.</returns>
    Task<SessionChangeOutcome> RecordChangeAsync(SessionChange change, CancellationToken cancellationToken);

    /// <summary>
    /// Notes what is about to be asked of ACS, before it is asked, so that a callback ACS sends before the request's
    /// answer is recorded is already read in its light (an "inactive" after a pause request is a pause, not the end).
    /// </summary>
    /// <param name="recordingId">The recording id.</param>
    /// <param name="action">The action about to be asked; null to put back <paramref name="previous"/> after ACS refused.</param>
    /// <param name="previous">With a null <paramref name="action"/>: the value to put back.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The last action noted before this call.</returns>
    Task<SessionAction?> NoteRequestAsync(string recordingId, SessionAction? action, SessionAction? previous, CancellationToken cancellationToken);

    /// <summary>
    /// Records that ACS answered a request for the recording with 404: the recording no longer exists (its call
    /// ended), so a live session is stopped for good whatever its last callback or request suggested (an
    /// "inactive" read as a pause was in fact the end). Unknown for an unknown recording; stale for an ended one.
    /// </summary>
    Task<SessionChangeOutcome> RecordGoneAsync(string recordingId, string? actor, CancellationToken cancellationToken);

    /// <summary>One session with its history, or null.</summary>
    /// <param name="recordingId">The recording id.</param>
    /// <param name="filesMissingAfter">How long a stopped session may wait for its files before it counts as missing them.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<RecordingSession?> GetAsync(string recordingId, TimeSpan filesMissingAfter, CancellationToken cancellationToken);

    /// <summary>Sessions, newest first, without their history.</summary>
    Task<IReadOnlyList<RecordingSession>> ListAsync(SessionQuery query, CancellationToken cancellationToken);

    /// <summary>How many sessions stopped more than <paramref name="filesMissingAfter"/> ago and still have no files.</summary>
    Task<long> CountFilesMissingAsync(TimeSpan filesMissingAfter, CancellationToken cancellationToken);
}

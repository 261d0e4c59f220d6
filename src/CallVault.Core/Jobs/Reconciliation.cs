namespace CallVault.Jobs;

/// <summary>Where a chunk stands in the reconciliation report. The order is the report's: the worst first.</summary>
public enum ReconciliationState
{
    /// <summary>Expired in ACS before CallVault could fetch it: announced only after the retention ended (by a dead-letter blob), or not stored when it ended.</summary>
    Lost,

    /// <summary>Given up on while ACS still holds it: a retry by hand can still store it.</summary>
    Failed,

    /// <summary>Not stored yet and still in ACS; <see cref="ReconciliationChunk.TimeLeft"/> says for how long.</summary>
    Pending,

    /// <summary>ACS wrote it to the customer's own container (Bring Your Own Storage): not downloaded from ACS.</summary>
    Exported,

    /// <summary>Stored, and CallVault heard of it only through an Event Grid dead-letter blob.</summary>
    Recovered,

    /// <summary>Stored.</summary>
    Stored,
}

/// <summary>Where a recording session without a recording stands in the reconciliation report.</summary>
public enum ReconciliationSessionState
{
    /// <summary>Stopped longer ago than the files-missing window and no file event arrived.</summary>
    FilesMissing,

    /// <summary>Still recording, or stopped recently: its files are still expected.</summary>
    FilesExpected,
}

/// <summary>What the reconciliation report covers.</summary>
public sealed record ReconciliationQuery
{
    /// <summary>Chunks whose event time, and sessions whose creation, is at or after this time.</summary>
    public required DateTimeOffset Since { get; init; }

    /// <summary>... and before this time.</summary>
    public required DateTimeOffset Until { get; init; }

    /// <summary>The time the report is made at; time left and expiry count from it.</summary>
    public required DateTimeOffset Now { get; init; }

    /// <summary>How long ACS keeps a chunk after its event (<c>CallVault:AcsRetention</c>, 24 hours by default).</summary>
    public required TimeSpan AcsRetention { get; init; }

    /// <summary>How long a stopped session may wait for its files before they count as missing.</summary>
    public required TimeSpan FilesMissingAfter { get; init; }
}

/// <summary>One chunk in the reconciliation report.</summary>
/// <param name="DocumentId">The ACS document id.</param>
/// <param name="Index">Position in the recording, from 0.</param>
/// <param name="State">Where it stands.</param>
/// <param name="EventTime">When Event Grid says the chunk's event happened.</param>
/// <param name="AcsExpiresAt">When ACS deletes (or deleted) it: the event time plus the retention.</param>
/// <param name="TimeLeft">For a pending or failed chunk, the time left before ACS deletes it; otherwise null.</param>
/// <param name="ViaDeadLetter">Whether CallVault heard of it only through a dead-letter blob.</param>
/// <param name="Reason">Why it is lost or failed, when it is.</param>
public sealed record ReconciliationChunk(string DocumentId, long Index, ReconciliationState State, DateTimeOffset EventTime, DateTimeOffset AcsExpiresAt, TimeSpan? TimeLeft, bool ViaDeadLetter, string? Reason);

/// <summary>One recording in the reconciliation report, with its chunks in order.</summary>
/// <param name="Key">The recording key.</param>
/// <param name="RecordingId">The recording id, when known.</param>
/// <param name="CallId">The call id, when known.</param>
/// <param name="State">Its worst chunk's state.</param>
/// <param name="ExportedTo">The customer's container a session asked ACS to write to, when one did.</param>
/// <param name="Chunks">Its chunks in the period.</param>
public sealed record ReconciliationRecording(string Key, string? RecordingId, string? CallId, ReconciliationState State, string? ExportedTo, IReadOnlyList<ReconciliationChunk> Chunks);

/// <summary>A recording session in the period that has no recording (no file event) yet.</summary>
/// <param name="RecordingId">The recording id Call Automation gave.</param>
/// <param name="ServerCallId">The call, when known.</param>
/// <param name="State">Files missing or still expected.</param>
/// <param name="CreatedAt">When CallVault first heard of the session.</param>
/// <param name="StoppedAt">When it stopped, if it did.</param>
public sealed record ReconciliationSession(string RecordingId, string? ServerCallId, ReconciliationSessionState State, DateTimeOffset CreatedAt, DateTimeOffset? StoppedAt);

/// <summary>
/// Every recording CallVault heard of in a period (from the webhook, a dead-letter blob or a recording session) with
/// the state of each chunk, and the sessions still without files. Recordings are listed worst first (lost first).
/// </summary>
/// <param name="Since">The period's start.</param>
/// <param name="Until">The period's end (exclusive).</param>
/// <param name="Totals">Chunks per state, every state present, lost first.</param>
/// <param name="Recordings">The recordings, worst state first, then oldest event first.</param>
/// <param name="SessionsWithoutRecording">Sessions with no recording, files missing first.</param>
public sealed record ReconciliationReport(
    DateTimeOffset Since,
    DateTimeOffset Until,
    IReadOnlyList<KeyValuePair<ReconciliationState, int>> Totals,
    IReadOnlyList<ReconciliationRecording> Recordings,
    IReadOnlyList<ReconciliationSession> SessionsWithoutRecording)
{
    /// <summary>Classifies one chunk as the report shows it.</summary>
    /// <param name="chunk">The chunk as stored.</param>
    /// <param name="exported">Whether its recording's session asked ACS to write to the customer's container.</param>
    /// <param name="now">The report's time.</param>
    /// <param name="acsRetention">How long ACS keeps a chunk after its event.</param>
    public static ReconciliationChunk Classify(ChunkJob chunk, bool exported, DateTimeOffset now, TimeSpan acsRetention)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var expiresAt = chunk.Request.EventTime + acsRetention;
        var viaDeadLetter = chunk.DeadLetter is not null;
        var left = expiresAt - now;
        var state = chunk.State switch
        {
            // Indexed from the customer's own container (Bring Your Own Storage): stored, but by ACS, not by CallVault.
            ChunkState.Stored when chunk.Media is { } media && Byos.ExportedBlob.FromStorePath(media.Path) is not null => ReconciliationState.Exported,
            ChunkState.Stored => viaDeadLetter ? ReconciliationState.Recovered : ReconciliationState.Stored,
            _ when chunk.DeadLetter?.Outcome == Recovery.DeadLetterChunkOutcome.Lost => ReconciliationState.Lost,

            // Once ACS's retention has passed nothing can fetch it any more, whatever the queue still says.
            _ when left <= TimeSpan.Zero => ReconciliationState.Lost,
            ChunkState.DeadLettered => ReconciliationState.Failed,

            // Not stored yet, and its session asked ACS to export it: expected in the customer's container, still timed.
            _ when exported => ReconciliationState.Exported,
            _ => ReconciliationState.Pending,
        };
        var keepsTime = state is ReconciliationState.Pending or ReconciliationState.Failed || (state == ReconciliationState.Exported && chunk.State != ChunkState.Stored);
        var reason = state is ReconciliationState.Lost or ReconciliationState.Failed
            ? chunk.Request.RejectedReason ?? chunk.LastError ?? (state == ReconciliationState.Lost ? "ACS's retention ended before the chunk was stored." : null)
            : null;
        return new ReconciliationChunk(chunk.Request.DocumentId, chunk.Request.Index, state, chunk.Request.EventTime, expiresAt, keepsTime ? left : null, viaDeadLetter, reason);
    }

    /// <summary>Builds the report from the chunks of the period and the sessions without a recording.</summary>
    /// <param name="query">The period and the times that decide the states.</param>
    /// <param name="chunks">The chunks whose event time is in the period.</param>
    /// <param name="exportedTo">The customer's container by recording id, for sessions that named one.</param>
    /// <param name="sessions">Sessions created in the period that have no recording.</param>
    public static ReconciliationReport Build(ReconciliationQuery query, IEnumerable<ChunkJob> chunks, IReadOnlyDictionary<string, string> exportedTo, IEnumerable<ReconciliationSession> sessions)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(exportedTo);
        var recordings = chunks
            .GroupBy(c => c.Request.Recording.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var info = g.First().Request.Recording;
                var container = info.RecordingId is { } id && exportedTo.TryGetValue(id, out var c) ? c : null;
                var classified = g.OrderBy(c => c.Request.Index).ThenBy(c => c.Request.DocumentId, StringComparer.Ordinal)
                    .Select(c => Classify(c, container is not null, query.Now, query.AcsRetention)).ToList();
                return new ReconciliationRecording(info.Key, info.RecordingId, info.CallId, classified.Min(c => c.State), container, classified);
            })
            .OrderBy(r => r.State).ThenBy(r => r.Chunks.Min(c => c.EventTime)).ThenBy(r => r.Key, StringComparer.Ordinal)
            .ToList();
        var totals = Enum.GetValues<ReconciliationState>()
            .Select(s => KeyValuePair.Create(s, recordings.Sum(r => r.Chunks.Count(c => c.State == s))))
            .ToList();
        return new ReconciliationReport(query.Since, query.Until, totals, recordings, [.. sessions.OrderBy(s => s.State).ThenBy(s => s.CreatedAt)]);
    }
}

namespace CallVault.Emulator.CallAutomation;

/// <summary>The body of <c>POST /admin/calls</c>: a live call that Call Automation can record.</summary>
public sealed record CallSpec
{
    /// <summary>Participant raw ids (<c>8:acs:...</c>, <c>4:+1425...</c>); at least one, at most 20.</summary>
    public IReadOnlyList<string>? Participants { get; init; }

    /// <summary>When set, the call ends by itself this many seconds (emulator clock) after it starts; above 0, at most 7 days.</summary>
    public double? DurationSeconds { get; init; }

    /// <summary>A group call id the call can also be found by (a <c>groupCallLocator</c>). Default none.</summary>
    public string? GroupCallId { get; init; }

    /// <summary>
    /// Whether the files of this call's recordings are announced to the Event Grid subscriptions
    /// (<c>RecordingFileStatusUpdated</c>). Default true; false makes "files never arrived" reproducible.
    /// </summary>
    public bool PublishFiles { get; init; } = true;
}

/// <summary>A live (or ended) call in the emulator.</summary>
public sealed class EmulatedCall
{
    /// <summary>The server call id (a <c>serverCallLocator</c>).</summary>
    public required string ServerCallId { get; init; }

    /// <summary>The call id, as in the recording's metadata and event subject.</summary>
    public required string CallId { get; init; }

    /// <summary>The group call id, when one was given.</summary>
    public string? GroupCallId { get; init; }

    /// <summary>Participant raw ids in joining order.</summary>
    public required IReadOnlyList<string> Participants { get; init; }

    /// <summary>Whether the files of its recordings are published to Event Grid.</summary>
    public required bool PublishFiles { get; init; }

    /// <summary>When the call started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When the call ended; null while it is connected.</summary>
    public DateTimeOffset? EndedAt { get; internal set; }

    /// <summary>The ids of the recordings started on it, oldest first.</summary>
    public List<string> RecordingIds { get; } = [];

    internal ITimer? EndTimer { get; set; }
}

/// <summary>Where a Call Automation recording is.</summary>
public enum CallRecordingState
{
    /// <summary>Recording.</summary>
    Active,

    /// <summary>Paused (or started paused): silence is recorded.</summary>
    Paused,

    /// <summary>Stopped for good, by a stop or the end of the call; its files exist.</summary>
    Stopped,
}

/// <summary>A recording started through <c>POST /calling/recordings</c>.</summary>
public sealed class EmulatedCallRecording
{
    /// <summary>The recording id.</summary>
    public required string RecordingId { get; init; }

    /// <summary>The call being recorded.</summary>
    public required EmulatedCall Call { get; init; }

    /// <summary><c>audio</c> or <c>audioVideo</c>.</summary>
    public required string Content { get; init; }

    /// <summary><c>mixed</c> or <c>unmixed</c>.</summary>
    public required string Channel { get; init; }

    /// <summary><c>wav</c>, <c>mp3</c> or <c>mp4</c>.</summary>
    public required string Format { get; init; }

    /// <summary>The participants in channel order (after ordering and affinity).</summary>
    public required IReadOnlyList<string> ChannelParticipants { get; init; }

    /// <summary>Where state callbacks go; null for none.</summary>
    public Uri? CallbackUri { get; init; }

    /// <summary>The Bring Your Own Storage container asked for, if any (the emulator still serves the files itself).</summary>
    public string? ExternalStorageContainerUrl { get; init; }

    /// <summary>When the recording started (emulator clock).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>The current state.</summary>
    public CallRecordingState State { get; internal set; }

    /// <summary>When it stopped.</summary>
    public DateTimeOffset? StoppedAt { get; internal set; }

    /// <summary>Paused spans, as offsets from <see cref="StartedAt"/>; the last one is open while paused. Replaced
    /// whole on each change, so a reader outside the service's lock always sees a consistent list.</summary>
    public IReadOnlyList<(TimeSpan Start, TimeSpan? End)> Pauses { get; internal set; } = [];

    /// <summary>Whether it was ever active: one started paused and never resumed produces no file, as in ACS.</summary>
    public bool WasEverActive { get; internal set; }

    /// <summary>The state as ACS reports it: <c>active</c>, or <c>inactive</c> when paused or stopped.</summary>
    public string AcsState => State == CallRecordingState.Active ? "active" : "inactive";
}

/// <summary>How a state callback went.</summary>
public enum CallbackOutcome
{
    /// <summary>Answered with a 2xx.</summary>
    Delivered,

    /// <summary>Answered otherwise, or not at all.</summary>
    Failed,

    /// <summary>Dropped by an injected fault: never sent.</summary>
    Lost,
}

/// <summary>One <c>RecordingStateChanged</c> callback.</summary>
/// <param name="RecordingId">The recording.</param>
/// <param name="State"><c>active</c> or <c>inactive</c>.</param>
/// <param name="Uri">Where it went.</param>
/// <param name="Outcome">How it went.</param>
/// <param name="Status">The answer's status, if any.</param>
/// <param name="Error">Why it failed, if it did.</param>
/// <param name="Time">When it was attempted (emulator clock).</param>
public sealed record CallbackDelivery(string RecordingId, string State, string Uri, CallbackOutcome Outcome, int? Status, string? Error, DateTimeOffset Time);

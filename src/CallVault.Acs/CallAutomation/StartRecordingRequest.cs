namespace CallVault.Acs.CallAutomation;

/// <summary>
/// What to record and how: the body of <c>POST /calling/recordings</c>. Exactly one of <see cref="ServerCallId"/> and
/// <see cref="GroupCallId"/> must be set. Every other property is optional; an unset one is left out of the request so
/// that ACS applies its own default.
/// </summary>
public sealed record StartRecordingRequest
{
    /// <summary>The server call id of the call to record (a <c>serverCallLocator</c>).</summary>
    public string? ServerCallId { get; init; }

    /// <summary>The group call id of the call to record (a <c>groupCallLocator</c>).</summary>
    public string? GroupCallId { get; init; }

    /// <summary><c>audio</c> or <c>audioVideo</c>, as ACS spells them. ACS's default is <c>audio</c>.</summary>
    public string? Content { get; init; }

    /// <summary><c>mixed</c> or <c>unmixed</c>. ACS's default is <c>mixed</c>.</summary>
    public string? Channel { get; init; }

    /// <summary><c>wav</c>, <c>mp3</c> or <c>mp4</c>. ACS's default depends on the content and channel.</summary>
    public string? Format { get; init; }

    /// <summary>Start the recording paused (resume it later). Default <see langword="false"/>; needs api-version 2024-04-15 or later.</summary>
    public bool PauseOnStart { get; init; }

    /// <summary>
    /// For unmixed audio: the raw ids (<c>8:acs:...</c>, <c>4:+1425...</c>) of the participants in channel order,
    /// the first on channel 0. Empty or null: ACS orders them by arrival.
    /// </summary>
    public IReadOnlyList<string>? AudioChannelParticipantOrdering { get; init; }

    /// <summary>For unmixed audio: participants pinned to a channel (0 to 4).</summary>
    public IReadOnlyList<RecordingChannelAffinity>? ChannelAffinity { get; init; }

    /// <summary>
    /// Bring Your Own Storage: the blob container (<c>https://account.blob.core.windows.net/container</c>) ACS writes
    /// the files to, through the resource's managed identity. Null: ACS keeps them (for 24 hours).
    /// </summary>
    public Uri? ExternalStorageContainerUrl { get; init; }

    /// <summary>Where ACS sends <c>RecordingStateChanged</c> callbacks. Null: no callbacks.</summary>
    public Uri? RecordingStateCallbackUri { get; init; }

    /// <summary>
    /// Identifies this logical start: ACS returns the first result for a request id it has already seen instead of
    /// starting a second recording. Null: a new one is generated per <see cref="CallRecordingClient.StartAsync"/> call
    /// and kept identical across its retries. Set it to make a start repeated after a crash idempotent too.
    /// </summary>
    public Guid? RepeatabilityRequestId { get; init; }

    /// <summary>When this logical start was first sent. Null: the time of the first attempt of this call.</summary>
    public DateTimeOffset? RepeatabilityFirstSent { get; init; }
}

/// <summary>A participant pinned to a channel of an unmixed recording.</summary>
/// <param name="Channel">The channel, 0 to 4.</param>
/// <param name="ParticipantRawId">The participant's raw id (<c>8:acs:...</c>, <c>4:+1425...</c>).</param>
public sealed record RecordingChannelAffinity(int Channel, string ParticipantRawId);

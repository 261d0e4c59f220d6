namespace CallVault.Emulator.Faults;

/// <summary>What a faulty response does.</summary>
public enum FaultType
{
    /// <summary>Send <see cref="FaultSpec.AfterBytes"/> bytes of the body, then reset the connection.</summary>
    Reset,

    /// <summary>Answer <see cref="FaultSpec.Status"/> (default 503) with a JSON error and an optional Retry-After.</summary>
    Status,

    /// <summary>Answer 200 with an empty body, as an idle ACS resource has been seen to.</summary>
    EmptyOk,

    /// <summary>Answer <see cref="FaultSpec.Status"/> (default 400) with an HTML error page.</summary>
    Html,

    /// <summary>Send the body at <see cref="FaultSpec.BytesPerSecond"/> (default 64 KiB/s).</summary>
    Trickle,

    /// <summary>Send <see cref="FaultSpec.AfterBytes"/> bytes, then nothing until the client gives up.</summary>
    Stall,
}

/// <summary>Which requests a fault applies to.</summary>
public enum FaultTarget
{
    /// <summary>Media downloads.</summary>
    Content,

    /// <summary>Metadata downloads.</summary>
    Metadata,

    /// <summary>Deletes.</summary>
    Delete,

    /// <summary>All of them, Call Automation requests and callbacks included.</summary>
    Any,

    /// <summary>
    /// Call Automation starts (<c>POST /calling/recordings</c>), matched by server or group call id:
    /// <see cref="FaultType.Status"/> and <see cref="FaultType.Html"/> answer without starting anything;
    /// <see cref="FaultType.Reset"/> starts the recording and then drops the connection, so the answer is lost.
    /// </summary>
    StartRecording,

    /// <summary>Call Automation get, pause, resume and stop, matched by recording id; the same fault types as a start.</summary>
    RecordingControl,

    /// <summary><c>RecordingStateChanged</c> callbacks, matched by recording id: any fault drops the callback.</summary>
    RecordingCallback,
}

/// <summary>One fault.</summary>
public sealed record FaultSpec
{
    /// <summary>What happens.</summary>
    public FaultType Type { get; init; }

    /// <summary>Body bytes sent before a reset or stall. Default 0.</summary>
    public long AfterBytes { get; init; }

    /// <summary>Status for <see cref="FaultType.Status"/> and <see cref="FaultType.Html"/>.</summary>
    public int Status { get; init; }

    /// <summary>Retry-After in seconds sent with a status fault; 0 sends none.</summary>
    public int RetryAfterSeconds { get; init; }

    /// <summary>Rate of a trickle, in bytes per second. Default 65,536.</summary>
    public long BytesPerSecond { get; init; } = 64 * 1024;
}

/// <summary>
/// The body of <c>POST /admin/faults</c>: a fault for the next <see cref="Count"/> matching requests, or, with
/// <see cref="Probability"/> below 1, for each matching request with that chance until removed.
/// </summary>
public sealed record FaultRule
{
    /// <summary>Only requests for this document (for Call Automation: this recording, or the call of a start); null matches all.</summary>
    public string? DocumentId { get; init; }

    /// <summary>Which requests. Default <see cref="FaultTarget.Content"/>.</summary>
    public FaultTarget Target { get; init; } = FaultTarget.Content;

    /// <summary>The fault.</summary>
    public FaultSpec Fault { get; init; } = new();

    /// <summary>How many matching requests suffer it; 0 means no limit. Default 1.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Chance per matching request, 0 to 1. Default 1.</summary>
    public double Probability { get; init; } = 1;
}

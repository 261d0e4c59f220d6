using System.ComponentModel.DataAnnotations;

namespace CallVault.Emulator.Recordings;

/// <summary>The body of <c>POST /admin/recordings</c>: a synthetic call to record. Every field is optional.</summary>
public sealed record RecordingSpec
{
    /// <summary><c>audio</c> (default) or <c>audioVideo</c>.</summary>
    public string ContentType { get; init; } = "audio";

    /// <summary><c>mixed</c> (default) or <c>unmixed</c>.</summary>
    public string ChannelType { get; init; } = "mixed";

    /// <summary><c>wav</c> (default for audio), <c>mp3</c> or <c>mp4</c> (default for audioVideo).</summary>
    public string? Format { get; init; }

    /// <summary>Length of the call in seconds. Default 10; at most 7 days.</summary>
    [Range(0.001, 7 * 24 * 3600)]
    public double DurationSeconds { get; init; } = 10;

    /// <summary>Participant raw ids; default two generated ones. Unmixed audio has one channel each, at most 5.</summary>
    public IReadOnlyList<string>? Participants { get; init; }

    /// <summary>Pauses, in seconds from the start of the call.</summary>
    public IReadOnlyList<PauseSpec>? Pauses { get; init; }

    /// <summary>Largest chunk in bytes before a new one starts. Default 1.5 GiB (1,610,612,736).</summary>
    [Range(1024, long.MaxValue)]
    public long ChunkSizeLimitBytes { get; init; } = 1_610_612_736;

    /// <summary>Longest chunk in seconds before a new one starts. Default 4 hours.</summary>
    [Range(1, 24 * 3600)]
    public double ChunkDurationLimitSeconds { get; init; } = 4 * 3600;

    /// <summary><c>tone</c> (default: real, playable media) or <c>synthetic</c> (deterministic bytes of any size).</summary>
    public string Media { get; init; } = "tone";

    /// <summary>For <c>synthetic</c> media: the total size in bytes across chunks. Default: the duration at 32,000 bytes per second.</summary>
    [Range(1, long.MaxValue)]
    public long? SizeBytes { get; init; }

    /// <summary><c>ga</c> (default, absolute locations) or <c>preview2021</c> (document ids only).</summary>
    public string EventShape { get; init; } = "ga";

    /// <summary>Whether to publish <c>RecordingFileStatusUpdated</c> to the subscriptions. Default true.</summary>
    public bool Publish { get; init; } = true;

    /// <summary>How the events are delivered.</summary>
    public DeliverySpec? Delivery { get; init; }
}

/// <summary>A pause in the call.</summary>
/// <param name="StartSeconds">Seconds from the start of the call.</param>
/// <param name="DurationSeconds">Length of the pause.</param>
public sealed record PauseSpec(double StartSeconds, double DurationSeconds);

/// <summary>Event delivery faults for one recording.</summary>
public sealed record DeliverySpec
{
    /// <summary>Publish one event per chunk instead of one for the recording.</summary>
    public bool EventPerChunk { get; init; }

    /// <summary>Publish the events in reverse chunk order.</summary>
    public bool ReverseOrder { get; init; }

    /// <summary>Publish every event twice (same id), as Event Grid's at-least-once delivery may.</summary>
    public bool Duplicate { get; init; }

    /// <summary>Seconds to wait before publishing.</summary>
    public double DelaySeconds { get; init; }
}

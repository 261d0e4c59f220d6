using System.ComponentModel.DataAnnotations;

namespace CallVault.Emulator;

/// <summary>How the emulator runs.</summary>
public sealed class AcsEmulatorOptions
{
    /// <summary>Where the ACS resource endpoint listens (signing identity, 2021-preview routes, admin API). Default <c>http://127.0.0.1:5271</c>; port 0 picks a free one.</summary>
    public string EndpointUrl { get; set; } = "http://127.0.0.1:5271";

    /// <summary>Where the media storage host listens (GA content, metadata and delete locations). Default <c>http://127.0.0.1:5272</c>; port 0 picks a free one.</summary>
    public string StorageUrl { get; set; } = "http://127.0.0.1:5272";

    /// <summary>The access key, base64. Default: a random 32-byte key, printed at start.</summary>
    public string? AccessKey { get; set; }

    /// <summary>How far a request's signed date may be from the emulator's clock. Default 15 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan DateWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long recordings can be downloaded. Default 24 hours, as in ACS.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Scales Event Grid's delays (retry schedule, event time-to-live, manual validation window), so that tests see
    /// the real sequence in seconds. 1 (default) is real time; 0.001 turns the 10-second first retry into 10 ms.
    /// </summary>
    [Range(0.000001, 1000)]
    public double TimeFactor { get; set; } = 1;

    /// <summary>How long Event Grid waits for a webhook's answer before counting the attempt as failed. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The ffmpeg executable used for tone recordings in mp3 and mp4. Default <c>ffmpeg</c> on the PATH.</summary>
    public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>
    /// The emulated ACS resource's immutable id (a GUID): the audience of the Call Automation callback tokens, as the
    /// immutable resource id shown on a real resource's overview is, and the <c>resourceId</c> of the recording
    /// metadata. Default <c>6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d</c>.
    /// </summary>
    [RegularExpression("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    public string ResourceImmutableId { get; set; } = DefaultResourceImmutableId;

    /// <summary>The default <see cref="ResourceImmutableId"/>.</summary>
    public const string DefaultResourceImmutableId = "6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d";

    /// <summary>Whether to log requests to the console. Default false.</summary>
    public bool Verbose { get; set; }

    /// <summary>The clock; tests pass a fake one to step past retention. Default the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

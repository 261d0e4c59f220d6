using System.ComponentModel.DataAnnotations;
using CallVault.Acs.Authentication;
using CallVault.Acs.Downloads;
using Microsoft.Extensions.Options;

namespace CallVault.Acs;

/// <summary>How CallVault talks to Azure Communication Services.</summary>
public sealed class AcsClientOptions
{
    /// <summary>
    /// The ACS connection string (<c>endpoint=...;accesskey=...</c>). No default: without it nothing can be signed,
    /// and a request fails with <see cref="AcsNotConfiguredException"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Hosts that may receive signed requests besides the ACS endpoint and the official media hosts
    /// (<c>*.asm.skype.com</c> and the Teams media hosts). Entries: <c>host</c>, <c>*.domain</c>, or an origin such as
    /// <c>http://127.0.0.1:5272</c> (the only way to allow plain http). Empty by default.
    /// </summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>Which headers are signed. Default <see cref="AcsSigningScheme.Current"/>.</summary>
    public AcsSigningScheme SigningScheme { get; set; } = AcsSigningScheme.Current;

    /// <summary>
    /// The <c>api-version</c> of the Call Automation recording requests (<see cref="CallAutomation.CallRecordingClient"/>).
    /// Default <see cref="DefaultCallAutomationApiVersion"/>, a stable version; <c>pauseOnStart</c> and Bring Your Own
    /// Storage need 2024-04-15 or later. Form <c>yyyy-MM-dd</c>, optionally with a <c>-preview</c> suffix.
    /// </summary>
    [RegularExpression(@"^\d{4}-\d{2}-\d{2}(-preview)?$", ErrorMessage = "CallVault:Acs:CallAutomationApiVersion must look like 2025-05-15 (optionally with -preview).")]
    public string CallAutomationApiVersion { get; set; } = DefaultCallAutomationApiVersion;

    /// <summary>The stable Call Automation <c>api-version</c> used unless configured otherwise.</summary>
    public const string DefaultCallAutomationApiVersion = "2025-05-15";

    /// <summary>How objects are downloaded.</summary>
    [Required]
    [ValidateObjectMembers]
    public AcsDownloadOptions Download { get; set; } = new();

    /// <summary>
    /// The most memory, in bytes, that all downloads of this client together hold in part buffers (parallel parts wait
    /// in them until everything before them is written). When it is spent, a download adds no connection until a
    /// buffer comes back and goes on with those it has; it never waits for one. Default 32 MiB: 8 parts of 4 MiB, so one
    /// of the service's downloads on a long link runs at up to 9 connections rather than the cap of 16 (the CLI raises it
    /// to its one download's cap × part size); the service's four workers downloading
    /// 1.5 GiB chunks at once peaked at 180 MiB resident with it, 188 MiB with 48 MiB and 210 MiB with a private pool
    /// per download (limit 200 MB). Read once at start-up. 0 (no parts, every download a single stream) to 4 GiB.
    /// </summary>
    [Range(0, 4 * 1024 * AcsDownloadOptions.MiB)]
    public long PartBufferBudgetBytes { get; set; } = 32 * AcsDownloadOptions.MiB;

    /// <summary>How failed requests are retried.</summary>
    [Required]
    [ValidateObjectMembers]
    public AcsRetryOptions Retry { get; set; } = new();
}

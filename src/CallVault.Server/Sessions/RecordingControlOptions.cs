using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Sessions;

/// <summary>
/// Recording control through Call Automation (section <c>CallVault:Recording</c>): where ACS sends the recording's
/// state callbacks, how they are authenticated, and how long a stopped recording may wait for its files.
/// </summary>
public sealed class RecordingControlOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "CallVault:Recording";

    /// <summary>The default OpenID Connect configuration of ACS's callback tokens.</summary>
    public static readonly Uri AcsCallbackMetadataAddress = new("https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration");

    /// <summary>
    /// The address ACS reaches this service at (e.g. <c>https://callvault.example.com</c>): a session's
    /// <c>recordingStateCallbackUri</c> is <c>{PublicBaseUrl}/api/callbacks</c>. Required to start sessions; no default.
    /// </summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>
    /// The audience of ACS's callback tokens: the ACS resource's immutable resource id (a GUID on the resource's
    /// overview). When set, a callback must carry a valid token. No default.
    /// </summary>
    public string? CallbackAudience { get; set; }

    /// <summary>
    /// The OpenID Connect configuration that gives the callback tokens' issuer and signing keys. Default ACS's
    /// (<see cref="AcsCallbackMetadataAddress"/>); the emulator serves its own.
    /// </summary>
    [Required]
    public Uri CallbackMetadataAddress { get; set; } = AcsCallbackMetadataAddress;

    /// <summary>
    /// Shared secrets accepted instead of a token (16+ characters each), for a deployment that cannot reach the
    /// OpenID configuration. ACS cannot send headers, so the secret travels in the callback URL's query string
    /// (<c>?code=</c>), where proxies and access logs may record it: prefer <see cref="CallbackAudience"/>. The first
    /// secret is put into the callback URL only when no audience is configured. Empty by default.
    /// </summary>
    public IList<string> CallbackSecrets { get; } = [];

    /// <summary>
    /// How long a recording that went inactive for good (stopped, or its call ended) may go without its files before
    /// it counts as missing them. Default 30 minutes; 1 second to 7 days.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan FilesMissingAfter { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The query parameter that carries a callback secret.</summary>
    public const string SecretQueryParameter = "code";

    /// <summary>Whether recording sessions can be started: a public address and a way to authenticate callbacks.</summary>
    public bool CanStart => PublicBaseUrl is not null && (!string.IsNullOrWhiteSpace(CallbackAudience) || CallbackSecrets.Count > 0);

    /// <summary>The callback URL given to ACS with each start.</summary>
    public Uri CallbackUri()
    {
        var baseUrl = PublicBaseUrl ?? throw new InvalidOperationException("CallVault:Recording:PublicBaseUrl is not set.");
        var callback = new Uri(new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/"), "api/callbacks");
        return string.IsNullOrWhiteSpace(CallbackAudience) && CallbackSecrets.FirstOrDefault() is { } secret
            ? new Uri($"{callback.AbsoluteUri}?{SecretQueryParameter}={Uri.EscapeDataString(secret)}")
            : callback;
    }
}

/// <summary>Checks the <c>[Range]</c> and <c>[Required]</c> attributes of <see cref="RecordingControlOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class RecordingControlOptionsAttributeValidator : IValidateOptions<RecordingControlOptions>;

/// <summary>Checks what attributes cannot, and reports every problem at once.</summary>
internal sealed class RecordingControlOptionsValidator : IValidateOptions<RecordingControlOptions>
{
    public ValidateOptionsResult Validate(string? name, RecordingControlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.PublicBaseUrl is { } baseUrl && (!baseUrl.IsAbsoluteUri || baseUrl.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(baseUrl.Query) || !string.IsNullOrEmpty(baseUrl.Fragment)))
        {
            failures.Add("CallVault:Recording:PublicBaseUrl must be an absolute http(s) address without a query or fragment, e.g. https://callvault.example.com.");
        }

        if (options.CallbackMetadataAddress is { } metadata && (!metadata.IsAbsoluteUri || metadata.Scheme is not ("https" or "http")))
        {
            failures.Add("CallVault:Recording:CallbackMetadataAddress must be an absolute http(s) address.");
        }
        else if (options.CallbackMetadataAddress is { Scheme: "http", IsLoopback: false } plain)
        {
            // The signing keys come from this document: fetched in the clear, anyone on the path could substitute theirs
            // and forge callbacks. Only a loopback emulator may serve it over http.
            failures.Add($"CallVault:Recording:CallbackMetadataAddress must use https (only a loopback address, such as the emulator's, may use http); {plain.Scheme}://{plain.Authority} is neither.");
        }

        if (options.CallbackSecrets.Any(s => s.Length < 16))
        {
            failures.Add("Every CallVault:Recording:CallbackSecrets entry must be at least 16 characters; a short secret can be guessed.");
        }

        if (options.PublicBaseUrl is not null && string.IsNullOrWhiteSpace(options.CallbackAudience) && options.CallbackSecrets.Count == 0)
        {
            failures.Add("CallVault:Recording:PublicBaseUrl is set but callbacks could not be authenticated: set CallVault:Recording:CallbackAudience to the ACS resource's immutable resource id (or, less safely, CallbackSecrets).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

using Microsoft.Extensions.Options;

namespace CallVault;

/// <summary>Checks the <c>[Range]</c> and <c>[Required]</c> attributes of <see cref="CallVaultOptions"/> and its children.</summary>
[OptionsValidator]
public sealed partial class CallVaultOptionsAttributeValidator : IValidateOptions<CallVaultOptions>;

/// <summary>Checks what attributes cannot, and reports every problem at once.</summary>
public sealed class CallVaultOptionsValidator : IValidateOptions<CallVaultOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CallVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.RetentionWarning >= options.AcsRetention)
        {
            failures.Add("CallVault:RetentionWarning must be shorter than CallVault:AcsRetention.");
        }

        if (options.Worker.RetryMaxDelay < options.Worker.RetryBaseDelay)
        {
            failures.Add("CallVault:Worker:RetryMaxDelay must not be shorter than CallVault:Worker:RetryBaseDelay.");
        }

        if (options.Webhook.Secrets.Any(s => s.Length is > 0 and < 16))
        {
            failures.Add("Every CallVault:Webhook:Secrets entry must be at least 16 characters; a short secret can be guessed.");
        }

        if (options.Webhook.ExpectEventWithin is { } window && window < TimeSpan.FromSeconds(1))
        {
            failures.Add("CallVault:Webhook:ExpectEventWithin must be at least 1 second (for example 01:00:00).");
        }

        ValidateApi(options.Api, failures);

        if (options.Database.Provider == DatabaseProvider.PostgreSql && string.IsNullOrWhiteSpace(options.Database.ConnectionString))
        {
            failures.Add("CallVault:Database:ConnectionString is required when CallVault:Database:Provider is PostgreSql.");
        }

        try
        {
            _ = Path.GetFullPath(options.DataDirectory);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            failures.Add($"CallVault:DataDirectory is not a usable path: {ex.Message}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Names the setting in every message, never its value: a misplaced secret must not reach a log.</summary>
    private static void ValidateApi(ApiOptions api, List<string> failures)
    {
        foreach (var (name, key) in api.ConfiguredKeys)
        {
            var setting = $"CallVault:Api:Keys:{name}";
            if (!IsUsableKeyName(name))
            {
                // The name is shown in logs and audit records, so it must be plain; local and anonymous name keyless callers.
                failures.Add($"The key name '{(name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? name : "(not shown)")}' under CallVault:Api:Keys is not usable: use 1 to 64 letters, digits, '-', '_' or '.', and not 'local' or 'anonymous'.");
                continue;
            }

            if (key.Role is null || !ApiRoles.All.Contains(key.Role, StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"{setting}:Role must be one of {string.Join(", ", ApiRoles.All)}.");
            }

            var hasKey = !string.IsNullOrEmpty(key.Key);
            var hasHash = !string.IsNullOrEmpty(key.KeySha256);
            if (hasKey == hasHash)
            {
                failures.Add($"{setting} needs exactly one of Key (the secret) or KeySha256 (its SHA-256 in hex); it has {(hasKey ? "both" : "neither")}.");
            }
            else if (hasKey && key.Key!.Length < 16)
            {
                failures.Add($"{setting}:Key must be at least 16 characters; a short key can be guessed.");
            }
            else if (hasHash && (key.KeySha256!.Length != 64 || !key.KeySha256.All(char.IsAsciiHexDigit)))
            {
                failures.Add($"{setting}:KeySha256 must be 64 hexadecimal characters (the SHA-256 of the key's UTF-8 bytes).");
            }
        }

        if (api.AllowAnonymous && api.ConfiguredKeys.Any())
        {
            failures.Add("CallVault:Api:AllowAnonymous and CallVault:Api:Keys are both set: with keys every caller needs one, so remove one of them.");
        }

        foreach (var host in api.AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || Uri.CheckHostName(host.Trim('[', ']')) == UriHostNameType.Unknown)
            {
                failures.Add($"CallVault:Api:AllowedHosts entry '{host}' is not a host name or address (give the name alone, without scheme or port).");
            }
        }

        foreach (var proxy in api.ForwardedHeaders.KnownProxies)
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"CallVault:Api:ForwardedHeaders:KnownProxies entry '{proxy}' is not an IP address.");
            }
        }

        foreach (var network in api.ForwardedHeaders.KnownNetworks)
        {
            if (!System.Net.IPNetwork.TryParse(network, out _))
            {
                failures.Add($"CallVault:Api:ForwardedHeaders:KnownNetworks entry '{network}' is not a network in CIDR form (such as 10.0.0.0/8).");
            }
        }
    }

    private static bool IsUsableKeyName(string name) =>
        name.Length is > 0 and <= 64
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
        && !name.Equals("local", StringComparison.OrdinalIgnoreCase)
        && !name.Equals("anonymous", StringComparison.OrdinalIgnoreCase);
}

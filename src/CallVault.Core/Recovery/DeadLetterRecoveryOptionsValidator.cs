using Microsoft.Extensions.Options;

namespace CallVault.Recovery;

/// <summary>Checks <see cref="DeadLetterRecoveryOptions"/> across fields at start-up and reports every problem at once.</summary>
public sealed class DeadLetterRecoveryOptionsValidator : IValidateOptions<DeadLetterRecoveryOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DeadLetterRecoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsConfigured)
        {
            return ValidateOptionsResult.Success;
        }

        const string Section = DeadLetterRecoveryOptions.SectionName;
        var failures = new List<string>();
        var hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);
        if (hasConnectionString == (options.AccountUrl is not null))
        {
            failures.Add($"{Section}: set exactly one of ConnectionString and AccountUrl (AccountUrl signs in with DefaultAzureCredential).");
        }

        if (options.AccountUrl is { } url && !IsSafeEndpoint(url))
        {
            failures.Add($"{Section}:AccountUrl must be an absolute https URL such as https://contoso.blob.core.windows.net (http only on loopback, for Azurite).");
        }

        // The value is never repeated in the message: it may hold the account key or a SAS.
        if (hasConnectionString && ConnectionStringProblem(options.ConnectionString!) is { } problem)
        {
            failures.Add($"{Section}:ConnectionString is not a storage connection string: {problem}. Copy it from the storage account's access keys (or use UseDevelopmentStorage=true for Azurite).");
        }

        if (string.IsNullOrWhiteSpace(options.ContainerName))
        {
            failures.Add($"{Section}:ContainerName is required: the container the Event Grid subscription dead-letters into.");
        }
        else if (!IsContainerName(options.ContainerName))
        {
            failures.Add($"{Section}:ContainerName '{options.ContainerName}' is not a container name (3-63 lower-case letters, digits and single hyphens).");
        }

        if (options.LeaseDuration <= options.PollInterval)
        {
            failures.Add($"{Section}:LeaseDuration must be longer than PollInterval, so that the polling instance keeps its hold between passes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The settings a storage connection string may hold (names as Azure spells them, case-insensitive).</summary>
    private static readonly HashSet<string> ConnectionStringSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        "UseDevelopmentStorage", "DevelopmentStorageProxyUri", "DefaultEndpointsProtocol", "AccountName", "AccountKey",
        "SharedAccessSignature", "EndpointSuffix", "BlobEndpoint", "QueueEndpoint", "TableEndpoint", "FileEndpoint",
        "BlobSecondaryEndpoint", "QueueSecondaryEndpoint", "TableSecondaryEndpoint", "FileSecondaryEndpoint",
    };

    /// <summary>
    /// Checks the shape the storage client accepts, so that a typo is a start-up error rather than a failure in the
    /// background; the problem named never quotes the string (nor a setting's name, which a stray ';' inside a key could
    /// turn into a piece of it).
    /// </summary>
    private static string? ConnectionStringProblem(string connectionString)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                return "it must be name=value settings separated by ';'";
            }

            if (!ConnectionStringSettings.Contains(part[..equals].Trim()))
            {
                return "it holds a setting that is not a storage connection string setting";
            }

            if (!settings.TryAdd(part[..equals].Trim(), part[(equals + 1)..].Trim()))
            {
                return "a setting appears twice";
            }
        }

        if (settings.TryGetValue("UseDevelopmentStorage", out var development))
        {
            return string.Equals(development, "true", StringComparison.OrdinalIgnoreCase) ? null : "UseDevelopmentStorage may only be true";
        }

        if (settings.TryGetValue("DefaultEndpointsProtocol", out var protocol) && protocol is not ("https" or "http"))
        {
            return "DefaultEndpointsProtocol must be https or http";
        }

        if (settings.TryGetValue("BlobEndpoint", out var endpoint) && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var blobEndpoint) || blobEndpoint.Scheme is not ("https" or "http")))
        {
            return "BlobEndpoint must be an absolute http(s) URL";
        }

        var hasKey = settings.TryGetValue("AccountKey", out var key);
        if (hasKey && (key!.Length == 0 || !Convert.TryFromBase64String(key, new byte[key.Length], out _)))
        {
            return "AccountKey must be the account's base64 key";
        }

        if (hasKey && !settings.ContainsKey("AccountName"))
        {
            return "AccountKey needs AccountName";
        }

        if (hasKey && settings.ContainsKey("SharedAccessSignature"))
        {
            return "set AccountKey or SharedAccessSignature, not both";
        }

        if (endpoint is null && !(hasKey && settings.ContainsKey("AccountName")))
        {
            return "it needs AccountName with AccountKey, or a BlobEndpoint";
        }

        return null;
    }

    private static bool IsSafeEndpoint(Uri url) =>
        url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && url.IsLoopback));

    private static bool IsContainerName(string name) =>
        name.Length is >= 3 and <= 63
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);
}

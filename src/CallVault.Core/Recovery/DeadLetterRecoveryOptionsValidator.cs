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

        if (options.AccountUrl is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("https" or "http")))
        {
            failures.Add($"{Section}:AccountUrl must be an absolute http(s) URL such as https://contoso.blob.core.windows.net.");
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

    private static bool IsContainerName(string name) =>
        name.Length is >= 3 and <= 63
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);
}

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

        if (options.Api.Keys.Any(k => k.Length < 16))
        {
            failures.Add("Every CallVault:Api:Keys entry must be at least 16 characters.");
        }

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
}

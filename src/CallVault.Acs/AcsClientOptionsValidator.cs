using CallVault.Acs.Hosts;
using Microsoft.Extensions.Options;

namespace CallVault.Acs;

/// <summary>Checks the <c>[Range]</c> and <c>[Required]</c> attributes of <see cref="AcsClientOptions"/> and its children.</summary>
[OptionsValidator]
public sealed partial class AcsClientOptionsAttributeValidator : IValidateOptions<AcsClientOptions>;

/// <summary>
/// Checks what attributes cannot: that a connection string, when set, parses, and that every allowed-host entry has
/// one of the accepted forms. Reports every problem at once. A missing connection string is not an error here: a
/// service may start without one and say so in its readiness check.
/// </summary>
public sealed class AcsClientOptionsValidator : IValidateOptions<AcsClientOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AcsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.ConnectionString)
            && !AcsConnectionString.TryParse(options.ConnectionString, out _, out var error))
        {
            failures.Add(error);
        }

        foreach (var entry in options.AllowedHosts)
        {
            if (!AcsHostAllowList.IsValidEntry(entry, out var hostError))
            {
                failures.Add(hostError!);
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

using CallVault.Acs.Hosts;
using Microsoft.Extensions.Options;

namespace CallVault.Acs.Internal;

/// <summary>
/// Reads the connection string and allow-list from the current options on every request, so a rotated key takes
/// effect without a restart, and parses each only when its text changes.
/// </summary>
internal sealed class AcsCredentialCache(IOptionsMonitor<AcsClientOptions> options)
{
    private Snapshot? _snapshot;

    public AcsClientOptions Options => options.CurrentValue;

    public (AcsConnectionString Credential, AcsHostAllowList AllowList) Current
    {
        get
        {
            var current = options.CurrentValue;
            var snapshot = _snapshot;
            if (snapshot is null
                || !ReferenceEquals(snapshot.Text, current.ConnectionString)
                || !snapshot.AllowedHosts.SequenceEqual(current.AllowedHosts, StringComparer.Ordinal))
            {
                if (string.IsNullOrWhiteSpace(current.ConnectionString))
                {
                    throw new AcsNotConfiguredException();
                }

                snapshot = new Snapshot(
                    current.ConnectionString,
                    AcsConnectionString.Parse(current.ConnectionString),
                    [.. current.AllowedHosts],
                    new AcsHostAllowList(current.AllowedHosts));
                _snapshot = snapshot;
            }

            return (snapshot.Credential, snapshot.AllowList);
        }
    }

    private sealed record Snapshot(string Text, AcsConnectionString Credential, string[] AllowedHosts, AcsHostAllowList AllowList);
}

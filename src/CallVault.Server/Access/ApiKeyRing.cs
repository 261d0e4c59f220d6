using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Access;

/// <summary>
/// The configured keys as SHA-256 hashes. A presented key is hashed and compared with every configured hash in constant
/// time, so neither the comparison's duration nor a configuration holding only hashes gives the secret away. Follows
/// configuration reloads, so a key removed from configuration stops working without a restart.
/// </summary>
internal sealed class ApiKeyRing(IOptionsMonitor<CallVaultOptions> options)
{
    private Snapshot? _snapshot;

    /// <summary>The key that <paramref name="presented"/> is, or null.</summary>
    public ApiKeyEntry? Match(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKeyEntry? found = null;
        foreach (var entry in Current().Entries)
        {
            // Every entry is compared, whether or not one matched already.
            if (CryptographicOperations.FixedTimeEquals(entry.Hash, hash) && found is null)
            {
                found = entry;
            }
        }

        return found;
    }

    /// <summary>The key named <paramref name="name"/> as configured now, or null when it is gone.</summary>
    public ApiKeyEntry? Find(string name) => Current().Entries.FirstOrDefault(e => e.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    private Snapshot Current()
    {
        var keys = options.CurrentValue.Api.Keys;
        var snapshot = _snapshot;
        if (snapshot is null || !ReferenceEquals(snapshot.Source, keys))
        {
            snapshot = new Snapshot(keys, [.. keys.Where(pair => !pair.Value.IsEmpty).Select(pair => ApiKeyEntry.From(pair.Key, pair.Value)).OfType<ApiKeyEntry>()]);
            _snapshot = snapshot;
        }

        return snapshot;
    }

    private sealed record Snapshot(object Source, IReadOnlyList<ApiKeyEntry> Entries);
}

/// <summary>One configured key: its name, its role (lower case) and the SHA-256 of its secret.</summary>
internal sealed record ApiKeyEntry(string Name, string Role, byte[] Hash)
{
    /// <summary>
    /// Identifies the secret in a session without revealing it, so that a session signed in with a key that has since
    /// been replaced under the same name ends.
    /// </summary>
    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData([.. "callvault.session:"u8, .. Hash]))[..32];

    /// <summary>Null for an entry start-up validation would have refused.</summary>
    public static ApiKeyEntry? From(string name, ApiKeyOptions key)
    {
        if (key.Role is not { } role || !ApiRoles.All.Contains(role, StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!string.IsNullOrEmpty(key.Key))
        {
            return new ApiKeyEntry(name, role.ToLowerInvariant(), SHA256.HashData(Encoding.UTF8.GetBytes(key.Key)));
        }

        try
        {
            return key.KeySha256 is { Length: 64 } hex ? new ApiKeyEntry(name, role.ToLowerInvariant(), Convert.FromHexString(hex)) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

using System.Security.Claims;

namespace CallVault.Server.Access;

/// <summary>
/// The principals the API sees. <c>Identity.Name</c> is the key's name (<c>local</c> or <c>anonymous</c> without
/// keys); <c>Identity.AuthenticationType</c> says how the caller got in, which decides whether a state change needs the
/// <c>X-CallVault-Request</c> header.
/// </summary>
internal static class Callers
{
    /// <summary>Authenticated by an <c>X-Api-Key</c> header: a cross-site form cannot send one.</summary>
    public const string ByKeyHeader = "ApiKey";

    /// <summary>Authenticated by the dashboard's session cookie, which a browser sends on its own.</summary>
    public const string BySession = "Session";

    /// <summary>No keys, loopback only.</summary>
    public const string ByLoopback = "Local";

    /// <summary>No keys, <c>AllowAnonymous</c>.</summary>
    public const string ByAnonymousAccess = "Anonymous";

    /// <summary>The key's role as configured (<c>reader</c>, <c>operator</c>, <c>metrics</c>), or <c>operator</c> keyless.</summary>
    public const string RoleClaim = "callvault:role";

    /// <summary>A session's <see cref="ApiKeyEntry.Fingerprint"/>.</summary>
    public const string KeyFingerprintClaim = "callvault:key";

    public const string LocalName = "local";

    public const string AnonymousName = "anonymous";

    /// <summary>A caller with a key's role; an operator is a reader too.</summary>
    public static ClaimsPrincipal ForKey(ApiKeyEntry key, string authenticationType)
    {
        ArgumentNullException.ThrowIfNull(key);
        var roles = key.Role == ApiRoles.Operator ? new[] { ApiRoles.Operator, ApiRoles.Reader } : [key.Role];
        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(RoleClaim, key.Role) };
        claims.AddRange(roles.Select(role => new Claim(ClaimTypes.Role, role)));
        if (authenticationType == BySession)
        {
            claims.Add(new Claim(KeyFingerprintClaim, key.Fingerprint));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>A keyless caller, with every role.</summary>
    public static ClaimsPrincipal Keyless(string name, string authenticationType)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name), new(RoleClaim, ApiRoles.Operator) };
        claims.AddRange(ApiRoles.All.Select(role => new Claim(ClaimTypes.Role, role)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }
}

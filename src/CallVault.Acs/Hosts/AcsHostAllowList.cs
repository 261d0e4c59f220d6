namespace CallVault.Acs.Hosts;

/// <summary>
/// Decides which URLs may receive a request signed with the ACS access key. Checked before any credential is attached,
/// so that a recording URL taken from an event can never send the key to a host an attacker chose.
/// </summary>
/// <remarks>
/// <para>Always allowed: the configured ACS endpoint's own origin, and https URLs on the hosts the official SDK's
/// <c>RecordingUrlValidator</c> allows (<see cref="DefaultHostSuffixes"/>).</para>
/// <para>Extra entries take three forms: <c>media.example.com</c> (that host, https, any port), <c>*.example.com</c>
/// (any subdomain, https), and an origin such as <c>http://127.0.0.1:5272</c> (exactly that scheme, host and port; the
/// only way to allow plain http, meant for the local emulator).</para>
/// </remarks>
public sealed class AcsHostAllowList
{
    /// <summary>Host suffixes the official SDKs' <c>RecordingUrlValidator</c> sends credentials to (https only): the
    /// hosts ACS gives recording URLs on.</summary>
    public static readonly IReadOnlyList<string> DefaultHostSuffixes =
        [".asm.skype.com", ".asyncgw.teams.microsoft.com", ".ams.gov.teams.microsoft.us"];

    private readonly List<string> _exactHosts = [];
    private readonly List<string> _suffixes = [.. DefaultHostSuffixes];
    private readonly List<(string Scheme, string Host, int Port)> _origins = [];

    /// <summary>Creates an allow-list with the defaults plus <paramref name="additionalEntries"/>.</summary>
    /// <exception cref="ArgumentException">An entry has none of the accepted forms.</exception>
    public AcsHostAllowList(IEnumerable<string>? additionalEntries = null)
    {
        foreach (var entry in additionalEntries ?? [])
        {
            if (!TryAdd(entry, out var error))
            {
                throw new ArgumentException(error, nameof(additionalEntries));
            }
        }
    }

    /// <summary>The allow-list with only the defaults.</summary>
    public static AcsHostAllowList Default { get; } = new();

    /// <summary>Checks the form of an allow-list entry without building a list, for options validation.</summary>
    public static bool IsValidEntry(string? entry, out string? error) => new AcsHostAllowList().TryAdd(entry, out error);

    /// <summary>Whether a signed request to <paramref name="uri"/> is allowed.</summary>
    /// <param name="uri">Where the request goes.</param>
    /// <param name="endpoint">The configured ACS endpoint, whose origin is trusted as configured; may be null.</param>
    /// <param name="reason">Why it is refused, for the error message.</param>
    public bool IsAllowed(Uri uri, Uri? endpoint, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
        {
            reason = "the URL is not absolute";
            return false;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            reason = "the URL carries user information";
            return false;
        }

        if (endpoint is not null && SameOrigin(uri, endpoint))
        {
            reason = null;
            return true;
        }

        foreach (var (scheme, host, port) in _origins)
        {
            if (uri.Scheme.Equals(scheme, StringComparison.OrdinalIgnoreCase)
                && uri.IdnHost.Equals(host, StringComparison.OrdinalIgnoreCase)
                && uri.Port == port)
            {
                reason = null;
                return true;
            }
        }

        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            reason = $"only https is allowed for '{uri.Host}' (add the origin '{uri.Scheme}://{uri.Authority}' to the allowed hosts to permit it)";
            return false;
        }

        var requestHost = uri.IdnHost;
        if (_exactHosts.Exists(h => requestHost.Equals(h, StringComparison.OrdinalIgnoreCase))
            || _suffixes.Exists(s => requestHost.EndsWith(s, StringComparison.OrdinalIgnoreCase)))
        {
            reason = null;
            return true;
        }

        reason = $"the host '{uri.Host}' is not an ACS media host nor in the allowed hosts";
        return false;
    }

    /// <summary>Throws unless a signed request to <paramref name="uri"/> is allowed.</summary>
    /// <exception cref="AcsHostNotAllowedException">The URL is refused.</exception>
    public void EnsureAllowed(Uri uri, Uri? endpoint)
    {
        if (!IsAllowed(uri, endpoint, out var reason))
        {
            throw new AcsHostNotAllowedException(uri, reason!);
        }
    }

    internal static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme.Equals(b.Scheme, StringComparison.OrdinalIgnoreCase)
        && a.IdnHost.Equals(b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    private bool TryAdd(string? entry, out string? error)
    {
        var text = entry?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            error = "An allowed-host entry is empty.";
            return false;
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var origin)
                || (origin.Scheme != Uri.UriSchemeHttp && origin.Scheme != Uri.UriSchemeHttps)
                || !string.IsNullOrEmpty(origin.UserInfo)
                || origin.AbsolutePath != "/"
                || !string.IsNullOrEmpty(origin.Query))
            {
                error = $"The allowed-host entry '{text}' is not an origin like 'http://127.0.0.1:5272'.";
                return false;
            }

            _origins.Add((origin.Scheme, origin.IdnHost, origin.Port));
            error = null;
            return true;
        }

        var isWildcard = text.StartsWith("*.", StringComparison.Ordinal);
        var host = isWildcard ? text[2..] : text.TrimStart('.');
        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            error = $"The allowed-host entry '{text}' is not a host name, a '*.domain' pattern or an origin.";
            return false;
        }

        if (isWildcard || text.StartsWith('.'))
        {
            _suffixes.Add("." + host);
        }
        else
        {
            _exactHosts.Add(host);
        }

        error = null;
        return true;
    }
}

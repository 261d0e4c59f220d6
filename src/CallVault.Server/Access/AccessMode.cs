namespace CallVault.Server.Access;

/// <summary>How callers are let in, decided once at start-up from configuration (never from a request).</summary>
internal enum AccessKind
{
    /// <summary>Keys are configured: every caller presents one, directly or through a dashboard session.</summary>
    Keys,

    /// <summary>No keys, loopback only, no forwarded headers: a caller connecting over loopback is <c>local</c>.</summary>
    Local,

    /// <summary>No keys and <c>CallVault:Api:AllowAnonymous</c>: every caller is <c>anonymous</c>, with every role.</summary>
    Anonymous,

    /// <summary>No keys, and the service can be reached from elsewhere: it must not start.</summary>
    Refused,
}

/// <summary>
/// The access decision: which <see cref="AccessKind"/>, and which <c>Host</c> headers are answered (against DNS
/// rebinding, a keyless loopback service answers only loopback names and the configured ones).
/// </summary>
internal sealed class AccessMode
{
    /// <summary>The host names a keyless loopback service always answers to.</summary>
    private static readonly string[] LoopbackHostNames = ["localhost", "127.0.0.1", "[::1]"];

    private readonly HashSet<string>? _allowedHosts;

    private AccessMode(AccessKind kind, string? refusal, ListeningAddresses listening, bool forwardedHeadersTrusted, HashSet<string>? allowedHosts)
    {
        Kind = kind;
        Refusal = refusal;
        Listening = listening;
        ForwardedHeadersTrusted = forwardedHeadersTrusted;
        _allowedHosts = allowedHosts;
    }

    public AccessKind Kind { get; }

    /// <summary>Why the service must not start (what to set), when <see cref="Kind"/> is <see cref="AccessKind.Refused"/>.</summary>
    public string? Refusal { get; }

    public ListeningAddresses Listening { get; }

    public bool ForwardedHeadersTrusted { get; }

    /// <summary>Whether a caller without a key is let in at all (then with every role).</summary>
    public bool Keyless => Kind is AccessKind.Local or AccessKind.Anonymous;

    /// <summary>The host names answered, or null for any.</summary>
    public IReadOnlyCollection<string>? AllowedHosts => _allowedHosts;

    public static AccessMode Decide(ApiOptions api, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(configuration);
        var listening = ListeningAddresses.From(configuration);

        // ASPNETCORE_FORWARDEDHEADERS_ENABLED makes ASP.NET believe any proxy's headers, so it counts as trusting them.
        var forwarded = api.ForwardedHeaders.Configured || configuration.GetValue<bool>("FORWARDEDHEADERS_ENABLED");
        AccessKind kind;
        string? refusal = null;
        if (api.ConfiguredKeys.Any())
        {
            kind = AccessKind.Keys;
        }
        else if (api.AllowAnonymous)
        {
            kind = AccessKind.Anonymous;
        }
        else if (listening.AllLoopback && !forwarded)
        {
            kind = AccessKind.Local;
        }
        else
        {
            kind = AccessKind.Refused;
            var why = forwarded
                ? "forwarded headers are trusted (CallVault:Api:ForwardedHeaders), so requests come through a proxy"
                : $"it listens on {string.Join(", ", listening.NotLoopback)}, which is not loopback";
            refusal = $"CallVault will not serve recordings without API keys: {why}. Set a key (CallVault:Api:Keys:<name>:Role = reader, operator or metrics, "
                + "and CallVault:Api:Keys:<name>:Key or :KeySha256), or, only behind your own authenticating proxy, CallVault:Api:AllowAnonymous=true.";
        }

        HashSet<string>? hosts = null;
        if (api.AllowedHosts.Count > 0 || (kind is AccessKind.Local or AccessKind.Anonymous && listening.AllLoopback))
        {
            hosts = new HashSet<string>(api.AllowedHosts.Select(NormalizeHost), StringComparer.OrdinalIgnoreCase);
            if (kind is AccessKind.Local or AccessKind.Anonymous && listening.AllLoopback)
            {
                hosts.UnionWith(LoopbackHostNames);
            }
        }

        return new AccessMode(kind, refusal, listening, forwarded, hosts);
    }

    /// <summary>Whether a request's <c>Host</c> (without its port) is answered.</summary>
    public bool IsHostAllowed(HostString host) =>
        _allowedHosts is null || (host.HasValue && _allowedHosts.Contains(NormalizeHost(host.Host)));

    /// <summary>IPv6 literals compare with brackets, as they appear in a Host header.</summary>
    private static string NormalizeHost(string host) =>
        System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{ip}]"
            : host.TrimEnd('.');
}

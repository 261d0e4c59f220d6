using System.Net;

namespace CallVault.Server.Access;

/// <summary>
/// Where Kestrel will listen, read from the same configuration it reads: <c>Urls</c> (also <c>ASPNETCORE_URLS</c> and
/// <c>--urls</c>), <c>Kestrel:Endpoints:*:Url</c>, and, without URLs, <c>HTTP_PORTS</c>/<c>HTTPS_PORTS</c> (which
/// bind every interface). Endpoints and URLs are both counted even though Kestrel prefers its endpoints, so the answer
/// errs towards "not loopback".
/// </summary>
internal sealed class ListeningAddresses
{
    /// <summary>What Kestrel listens on when nothing is configured.</summary>
    private const string KestrelDefault = "http://localhost:5000";

    private ListeningAddresses(IReadOnlyList<string> addresses) => Addresses = addresses;

    public IReadOnlyList<string> Addresses { get; }

    /// <summary>The addresses that other machines can reach (or that cannot be shown to be loopback).</summary>
    public IReadOnlyList<string> NotLoopback => [.. Addresses.Where(a => !IsLoopback(a))];

    public bool AllLoopback => NotLoopback.Count == 0;

    public static ListeningAddresses From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var addresses = new List<string>();
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            addresses.Add(endpoint["Url"] ?? string.Empty);
        }

        var urls = Split(configuration[WebHostDefaults.ServerUrlsKey]);
        if (urls.Length > 0)
        {
            addresses.AddRange(urls);
        }
        else
        {
            // As Kestrel does: the port settings count only when no URLs are set.
            addresses.AddRange(Split(configuration[WebHostDefaults.HttpPortsKey]).Select(port => $"http://*:{port}"));
            addresses.AddRange(Split(configuration[WebHostDefaults.HttpsPortsKey]).Select(port => $"https://*:{port}"));
        }
        return new ListeningAddresses(addresses.Count == 0 ? [KestrelDefault] : addresses);
    }

    /// <summary>
    /// True for <c>localhost</c> and loopback IP literals; false for wildcards, host names (Kestrel binds those to
    /// every interface), Unix sockets and named pipes (whatever connects through them has no loopback address to
    /// show), and anything unreadable.
    /// </summary>
    public static bool IsLoopback(string address)
    {
        BindingAddress parsed;
        try
        {
            parsed = BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return false;
        }

        if (parsed.IsUnixPipe || parsed.IsNamedPipe)
        {
            return false;
        }

        return parsed.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(parsed.Host.Trim('[', ']'), out var ip) && IsLoopback(ip));
    }

    /// <summary>Loopback, including an IPv4 loopback address written as IPv6.</summary>
    public static bool IsLoopback(IPAddress? address) =>
        address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private static string[] Split(string? value) =>
        (value ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

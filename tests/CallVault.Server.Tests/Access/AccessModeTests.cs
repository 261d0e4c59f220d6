using System.Net;
using CallVault.Server.Access;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace CallVault.Server.Tests.Access;

/// <summary>The access decision from configuration alone: listening addresses, keys, trusted proxies, allowed hosts.</summary>
public sealed class AccessModeTests
{
    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    [Theory]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://127.0.0.1:0", true)]
    [InlineData("http://127.8.9.10:80", true)]
    [InlineData("https://[::1]:443", true)]
    [InlineData("http://[::ffff:127.0.0.1]:80", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://[::]:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("http://callvault.example:5080", false)]
    [InlineData("http://localhost.attacker.example:5080", false)]
    [InlineData("http://192.168.1.4:5080", false)]
    [InlineData("http://unix:/run/callvault.sock", false)]
    [InlineData("http://pipe:/callvault", false)]
    [InlineData("not a url", false)]
    public void IsLoopback_OnlyLoopbackLiteralsAndLocalhost(string address, bool expected) =>
        Assert.Equal(expected, ListeningAddresses.IsLoopback(address));

    [Fact]
    public void IsLoopback_AMissingAddressIsNever() => Assert.False(ListeningAddresses.IsLoopback((IPAddress?)null));

    [Fact]
    public void From_NothingConfigured_IsKestrelsLoopbackDefault() =>
        Assert.True(ListeningAddresses.From(Configuration()).AllLoopback);

    [Fact]
    public void From_EveryKindOfSettingCounts()
    {
        var addresses = ListeningAddresses.From(Configuration(
            ("Urls", "http://localhost:5080; http://10.0.0.5:5080"),
            ("Kestrel:Endpoints:Public:Url", "https://*:443")));

        Assert.Equal(["http://10.0.0.5:5080", "https://*:443"], addresses.NotLoopback.Order());
    }

    [Fact]
    public void From_PortsCountOnlyWithoutUrls()
    {
        Assert.True(ListeningAddresses.From(Configuration(("urls", "http://127.0.0.1:80"), ("http_ports", "8080"))).AllLoopback);
        Assert.False(ListeningAddresses.From(Configuration(("http_ports", "8080"))).AllLoopback);
    }

    [Fact]
    public void Decide_KeylessOnLoopback_IsLocalAndAnswersOnlyLoopbackNames()
    {
        var mode = AccessMode.Decide(new ApiOptions(), Configuration(("Urls", "http://localhost:5080")));

        Assert.Equal(AccessKind.Local, mode.Kind);
        Assert.True(mode.IsHostAllowed(new HostString("localhost:5080")));
        Assert.True(mode.IsHostAllowed(new HostString("[::1]:5080")));
        Assert.True(mode.IsHostAllowed(new HostString("127.0.0.1")));
        Assert.False(mode.IsHostAllowed(new HostString("attacker.example")));
        Assert.False(mode.IsHostAllowed(new HostString("127.0.0.1.nip.io")));
        Assert.False(mode.IsHostAllowed(default));
    }

    [Fact]
    public void Decide_KeylessBeyondLoopback_IsRefusedWithWhatToSet()
    {
        var mode = AccessMode.Decide(new ApiOptions(), Configuration(("Urls", "http://0.0.0.0:5080")));

        Assert.Equal(AccessKind.Refused, mode.Kind);
        Assert.Contains("http://0.0.0.0:5080", mode.Refusal, StringComparison.Ordinal);
        Assert.Contains("CallVault:Api:Keys:<name>:Role", mode.Refusal, StringComparison.Ordinal);
        Assert.Contains("CallVault:Api:AllowAnonymous=true", mode.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_TrustedProxiesWithoutKeys_AreRefusedEvenOnLoopback()
    {
        var api = new ApiOptions();
        api.ForwardedHeaders.KnownProxies.Add("127.0.0.1");

        Assert.Equal(AccessKind.Refused, AccessMode.Decide(api, Configuration(("Urls", "http://127.0.0.1:5080"))).Kind);
        Assert.Equal(AccessKind.Refused, AccessMode.Decide(new ApiOptions(), Configuration(("Urls", "http://127.0.0.1:5080"), ("FORWARDEDHEADERS_ENABLED", "true"))).Kind);
    }

    [Fact]
    public void Decide_WithKeys_AnyHostUnlessSomeAreConfigured()
    {
        var api = new ApiOptions();
        api.Keys["ops"] = new ApiKeyOptions { Role = "operator", Key = "0123456789abcdef0123" };
        var open = AccessMode.Decide(api, Configuration(("Urls", "http://0.0.0.0:5080")));
        api.AllowedHosts.Add("recordings.example.com");
        var named = AccessMode.Decide(api, Configuration(("Urls", "http://0.0.0.0:5080")));

        Assert.Equal(AccessKind.Keys, open.Kind);
        Assert.True(open.IsHostAllowed(new HostString("anything.example")));
        Assert.True(named.IsHostAllowed(new HostString("Recordings.Example.com:443")));
        Assert.False(named.IsHostAllowed(new HostString("localhost")));
    }
}

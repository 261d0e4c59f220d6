using CallVault.Acs.Hosts;

namespace CallVault.Acs.Tests.Hosts;

public sealed class AcsHostAllowListTests
{
    private static readonly Uri Endpoint = new("https://contoso-acs.communication.azure.com/");

    [Theory]
    [InlineData("https://storage.asm.skype.com/v1/objects/d/content/video")]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/d")]
    [InlineData("https://x.asyncgw.teams.microsoft.com/v1/objects/d")]
    [InlineData("https://x.ams.gov.teams.microsoft.us/v1/objects/d")]
    [InlineData("https://contoso-acs.communication.azure.com/recording/download/d?api-version=2021-04-15-preview1")]
    public void IsAllowed_DefaultsAndEndpoint_AreAllowed(string url)
    {
        Assert.True(AcsHostAllowList.Default.IsAllowed(new Uri(url), Endpoint, out var reason), reason);
    }

    [Theory]
    [InlineData("http://storage.asm.skype.com/v1/objects/d", "only https")]
    [InlineData("https://asm.skype.com.attacker.net/x", "not an ACS media host")]
    [InlineData("https://evilasm.skype.com/x", "not an ACS media host")]
    [InlineData("https://169.254.169.254/metadata", "not an ACS media host")]
    [InlineData("https://u:p@storage.asm.skype.com/x", "user information")]
    [InlineData("http://contoso-acs.communication.azure.com/x", "only https")]
    public void IsAllowed_OtherHosts_AreRefusedWithReason(string url, string expected)
    {
        Assert.False(AcsHostAllowList.Default.IsAllowed(new Uri(url), Endpoint, out var reason));
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void IsAllowed_RelativeUri_IsRefused()
    {
        Assert.False(AcsHostAllowList.Default.IsAllowed(new Uri("/v1/objects/d", UriKind.Relative), Endpoint, out _));
    }

    [Fact]
    public void IsAllowed_OriginEntry_AllowsExactlyThatSchemeHostAndPort()
    {
        var list = new AcsHostAllowList(["http://127.0.0.1:5272"]);

        Assert.True(list.IsAllowed(new Uri("http://127.0.0.1:5272/v1/objects/d"), Endpoint, out _));
        Assert.False(list.IsAllowed(new Uri("http://127.0.0.1:5273/v1/objects/d"), Endpoint, out _));
        Assert.False(list.IsAllowed(new Uri("http://localhost:5272/v1/objects/d"), Endpoint, out _));
    }

    [Fact]
    public void IsAllowed_HostAndWildcardEntries_AllowHttpsOnly()
    {
        var list = new AcsHostAllowList(["media.example.com", "*.contoso.net"]);

        Assert.True(list.IsAllowed(new Uri("https://media.example.com:8443/x"), Endpoint, out _));
        Assert.True(list.IsAllowed(new Uri("https://a.b.contoso.net/x"), Endpoint, out _));
        Assert.False(list.IsAllowed(new Uri("https://contoso.net/x"), Endpoint, out _));
        Assert.False(list.IsAllowed(new Uri("http://media.example.com/x"), Endpoint, out _));
        Assert.False(list.IsAllowed(new Uri("https://sub.media.example.com/x"), Endpoint, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("http://127.0.0.1:5272/path")]
    [InlineData("ftp://host")]
    [InlineData("bad host name")]
    public void Constructor_InvalidEntry_Throws(string entry)
    {
        Assert.Throws<ArgumentException>(() => new AcsHostAllowList([entry]));
        Assert.False(AcsHostAllowList.IsValidEntry(entry, out var error));
        Assert.NotNull(error);
    }
}

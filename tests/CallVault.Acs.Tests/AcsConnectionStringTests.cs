namespace CallVault.Acs.Tests;

public sealed class AcsConnectionStringTests
{
    private const string Key = "ZW11bGF0b3ItdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2Q=";

    [Theory]
    [InlineData("endpoint=https://contoso.communication.azure.com/;accesskey=" + Key)]
    [InlineData("accesskey=" + Key + ";endpoint=https://contoso.communication.azure.com")]
    [InlineData("  Endpoint = https://contoso.communication.azure.com/ ; AccessKey=" + Key + " ;")]
    [InlineData("ENDPOINT=https://contoso.communication.azure.com/;ACCESSKEY=" + Key + ";extra=ignored")]
    public void Parse_AnyOrderAndCase_GivesEndpointAndKey(string text)
    {
        var parsed = AcsConnectionString.Parse(text);

        Assert.Equal(new Uri("https://contoso.communication.azure.com/"), parsed.Endpoint);
        Assert.Equal(Convert.FromBase64String(Key), parsed.AccessKey.ToArray());
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("   ", "empty")]
    [InlineData("accesskey=" + Key, "no 'endpoint=' part")]
    [InlineData("endpoint=https://contoso.communication.azure.com/", "no 'accesskey=' part")]
    [InlineData("endpoint=https://contoso.communication.azure.com/;accesskey=", "no 'accesskey=' part")]
    [InlineData("endpoint=contoso;accesskey=" + Key, "not an absolute http(s) URL")]
    [InlineData("endpoint=ftp://contoso/;accesskey=" + Key, "not an absolute http(s) URL")]
    [InlineData("endpoint=https://contoso.communication.azure.com/;accesskey=not*base64!", "not valid base64")]
    [InlineData("endpoint=https://contoso.communication.azure.com/;" + Key, "no 'accesskey=' part")]
    [InlineData("endpoint=https://contoso.communication.azure.com/;justtext", "Part 2")]
    public void Parse_Malformed_NamesTheProblem(string? text, string expected)
    {
        var error = Assert.Throws<AcsConnectionStringException>(() => AcsConnectionString.Parse(text));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0LWtleS0xMjM0NTY3OA==*")]
    [InlineData("endpoint=https://contoso.communication.azure.com/;c2VjcmV0LWtleS0xMjM0NTY3OA==")]
    [InlineData("endpoint=;accesskey=c2VjcmV0LWtleS0xMjM0NTY3OA==")]
    public void Parse_Malformed_NeverEchoesTheKey(string text)
    {
        var error = Assert.Throws<AcsConnectionStringException>(() => AcsConnectionString.Parse(text));

        Assert.DoesNotContain("c2VjcmV0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_RedactsKey()
    {
        var parsed = AcsConnectionString.Parse("endpoint=https://contoso.communication.azure.com/;accesskey=" + Key);

        Assert.Equal("endpoint=https://contoso.communication.azure.com/;accesskey=***", parsed.ToString());
        Assert.Contains(Key, parsed.ToSecretString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EndpointWithoutSlashOrWithPort_IsNormalized()
    {
        var parsed = AcsConnectionString.Parse("endpoint=http://127.0.0.1:5271;accesskey=" + Key);

        Assert.Equal("http://127.0.0.1:5271/", parsed.Endpoint.AbsoluteUri);
        Assert.Equal("127.0.0.1:5271", parsed.Endpoint.Authority);
    }
}

using System.Text;
using CallVault.Acs.Authentication;
using CallVault.Acs.Hosts;
using CallVault.Acs.Http;
using CallVault.Acs.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Acs.Tests.Authentication;

public sealed class AcsHmacSigningHandlerTests
{
    private static readonly DateTimeOffset SpecTime = new(2026, 3, 3, 10, 15, 30, TimeSpan.Zero);

    private static (HttpClient Client, StubHandler Stub) CreateClient(string endpoint, AcsSigningScheme scheme = AcsSigningScheme.Current, params string[] allowed)
    {
        var options = new AcsClientOptions { ConnectionString = $"endpoint={endpoint};accesskey={TestOptions.Key}", SigningScheme = scheme };
        foreach (var host in allowed)
        {
            options.AllowedHosts.Add(host);
        }

        var stub = new StubHandler();
        var signer = new AcsHmacSigningHandler(TestOptions.Monitor(options), new FakeTimeProvider(SpecTime)) { InnerHandler = stub };
        return (new HttpClient(signer), stub);
    }

    /// <summary>A contentLocation on the storage host is signed with the ACS authority and carries x-ms-host, as both
    /// official SDKs sign it.</summary>
    [Fact]
    public async Task SendAsync_StorageHostUrl_SignsWithEndpointAuthorityAndSendsXMsHost()
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/");

        await client.GetAsync(new Uri("https://storage.asm.skype.com/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f/content/audio"));

        var sent = Assert.Single(stub.Requests);
        Assert.Equal("contoso-acs.communication.azure.com", sent.Headers.GetValues("x-ms-host").Single());
        Assert.Equal("Tue, 03 Mar 2026 10:15:30 GMT", sent.Headers.GetValues("x-ms-date").Single());
        Assert.Equal(SpecTime, sent.Headers.Date);
        Assert.Equal(AcsHmacSigner.EmptyContentHash, sent.Headers.GetValues("x-ms-content-sha256").Single());
        Assert.Equal("HMAC-SHA256", sent.Headers.Authorization!.Scheme);
        Assert.Equal(
            "SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=kq/29pAowra05IR38NWrm/Z1chBMe0Hx6uf0ER6AsxM=",
            sent.Headers.Authorization.Parameter);
    }

    [Fact]
    public async Task SendAsync_StorageUrlWithQuery_DropsQueryFromSignedPath()
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/");

        await client.GetAsync(new Uri("https://storage.asm.skype.com/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f/content/audio?sig=x"));

        Assert.EndsWith("Signature=kq/29pAowra05IR38NWrm/Z1chBMe0Hx6uf0ER6AsxM=", stub.Requests[0].Headers.Authorization!.Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_EmulatorEndpointWithPort_SignsAuthorityWithPort()
    {
        var (client, stub) = CreateClient("http://localhost:5271/", allowed: "http://127.0.0.1:5272");

        await client.GetAsync(new Uri("http://127.0.0.1:5272/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f/content/audio"));

        var sent = stub.Requests[0];
        Assert.Equal("localhost:5271", sent.Headers.GetValues("x-ms-host").Single());
        Assert.EndsWith("Signature=OoF1+lonW54MVDwUeqGB1xIgVJ6FE4hDU8bOMeb2SDI=", sent.Headers.Authorization!.Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_DeleteLocation_MatchesSpecVector()
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/");

        await client.DeleteAsync(new Uri("https://eu-storage.asm.skype.com/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f"));

        Assert.EndsWith("Signature=oXuDwAtZMpZY22QYSGh91IO8B4odOym0aAxC3/+iWe0=", stub.Requests[0].Headers.Authorization!.Parameter, StringComparison.Ordinal);
    }

    /// <summary>A request to the ACS endpoint itself (2021-preview route) signs its own path and query and sends no x-ms-host.</summary>
    [Fact]
    public async Task SendAsync_EndpointUrl_SignsPathAndQueryWithoutXMsHost()
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/");
        var uri = new Uri("https://contoso-acs.communication.azure.com/recording/download/doc-1?api-version=2021-04-15-preview1");

        await client.GetAsync(uri);

        var sent = stub.Requests[0];
        Assert.False(sent.Headers.Contains("x-ms-host"));
        var expected = AcsHmacSigner.ComputeSignature(
            Convert.FromBase64String(TestOptions.Key),
            AcsHmacSigner.BuildStringToSign("GET", uri.PathAndQuery, "Tue, 03 Mar 2026 10:15:30 GMT", uri.Authority, AcsHmacSigner.EmptyContentHash));
        Assert.EndsWith("Signature=" + expected, sent.Headers.Authorization!.Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_Body_IsHashedAsSentBytes()
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/");
        var body = Encoding.UTF8.GetBytes("{\"name\":\"Åsa\"}");

        await client.PostAsync(new Uri("https://contoso-acs.communication.azure.com/x"), new ByteArrayContent(body));

        Assert.Equal(AcsHmacSigner.ComputeContentHash(body), stub.Requests[0].Headers.GetValues("x-ms-content-sha256").Single());
    }

    [Fact]
    public async Task SendAsync_Preview2021Scheme_SignsDateHeaderForm()
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/", AcsSigningScheme.Preview2021);

        await client.GetAsync(new Uri("https://storage.asm.skype.com/v1/objects/0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f/content/audio"));

        // Same string to sign as the current form (the date value is identical); only the header list differs.
        Assert.Equal(
            "SignedHeaders=date;host;x-ms-content-sha256&Signature=kq/29pAowra05IR38NWrm/Z1chBMe0Hx6uf0ER6AsxM=",
            stub.Requests[0].Headers.Authorization!.Parameter);
    }

    [Theory]
    [InlineData("https://evil.example.com/v1/objects/doc/content/audio")]
    [InlineData("http://storage.asm.skype.com/v1/objects/doc/content/audio")]
    [InlineData("https://storage.asm.skype.com.evil.example/v1/objects/doc")]
    [InlineData("https://user@storage.asm.skype.com/v1/objects/doc")]
    public async Task SendAsync_HostNotAllowed_ThrowsBeforeSending(string url)
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/");

        var error = await Assert.ThrowsAsync<AcsHostNotAllowedException>(() => client.GetAsync(new Uri(url)));

        Assert.Empty(stub.Requests);
        Assert.DoesNotContain(TestOptions.Key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_SendWithoutCredentials_StripsAuthenticationHeaders()
    {
        var (client, stub) = CreateClient("https://contoso-acs.communication.azure.com/");
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://blob.example.net/x");
        request.Headers.TryAddWithoutValidation("Authorization", "HMAC-SHA256 SignedHeaders=a&Signature=b");
        request.Headers.TryAddWithoutValidation("x-ms-host", "contoso-acs.communication.azure.com");
        request.Options.Set(AcsRequestOptionKeys.SendWithoutCredentials, true);

        await client.SendAsync(request);

        var sent = Assert.Single(stub.Requests);
        Assert.Null(sent.Headers.Authorization);
        Assert.False(sent.Headers.Contains("x-ms-host"));
    }

    [Fact]
    public async Task SendAsync_NoConnectionString_ThrowsNotConfigured()
    {
        var stub = new StubHandler();
        var signer = new AcsHmacSigningHandler(TestOptions.Monitor(new AcsClientOptions()), TimeProvider.System) { InnerHandler = stub };
        using var client = new HttpClient(signer);

        await Assert.ThrowsAsync<AcsNotConfiguredException>(() => client.GetAsync(new Uri("https://storage.asm.skype.com/x")));
        Assert.Empty(stub.Requests);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The service behind a reverse proxy on the same machine (every request arrives from 127.0.0.1), with the proxy's
/// address trusted for <c>X-Forwarded-For</c>: nothing is served without a key, each key gets its role's routes, and the
/// address logged is the client's, not the proxy's.
/// </summary>
public sealed class ReverseProxyTests : IAsyncLifetime
{
    private const string ReaderKey = "reader-key-0123456789abcdef";
    private const string OperatorKey = "operator-key-0123456789abcdef";
    private const string MetricsKey = "metrics-key-0123456789abcdef";
    private static readonly IPAddress Client = IPAddress.Parse("203.0.113.7");

    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private ForwardingProxy _proxy = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator, s =>
        {
            s["CallVault:Api:Keys:viewer:Role"] = "reader";
            s["CallVault:Api:Keys:viewer:Key"] = ReaderKey;
            s["CallVault:Api:Keys:ops:Role"] = "operator";
            s["CallVault:Api:Keys:ops:Key"] = OperatorKey;
            s["CallVault:Api:Keys:prometheus:Role"] = "metrics";
            s["CallVault:Api:Keys:prometheus:Key"] = MetricsKey;
            s["CallVault:Api:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1";
        });
        _proxy = await ForwardingProxy.StartAsync(_server.BaseAddress, Client);
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        var recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 2, channelType = "mixed", participants = new[] { "8:acs:a" } })).Content.ReadFromJsonAsync<JsonElement>();
        _key = await WaitForStoredAsync(recording.GetProperty("callId").GetString()!);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized)]
    [InlineData(ReaderKey, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden)]
    [InlineData(OperatorKey, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.NotFound)]
    [InlineData(MetricsKey, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.Forbidden)]
    public async Task ThroughTheProxy_EachRouteNeedsItsRolesKey(string? key, HttpStatusCode list, HttpStatusCode media, HttpStatusCode metrics, HttpStatusCode retry)
    {
        Assert.Equal(list, await StatusAsync(HttpMethod.Get, "api/recordings", key));
        Assert.Equal(media, await StatusAsync(HttpMethod.Get, $"api/recordings/{_key}/chunks/0/media", key));
        Assert.Equal(metrics, await StatusAsync(HttpMethod.Get, "metrics", key));
        Assert.Equal(retry, await StatusAsync(HttpMethod.Post, "api/jobs/0-eus-d1-unknown/retry", key));
    }

    [Fact]
    public async Task ThroughTheProxy_TheLoggedAddressIsTheClients()
    {
        using var signIn = await _proxy.Client.PostAsJsonAsync("api/auth/sign-in", new { key = "a-wrong-key-through-the-proxy" });
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "api/recordings");
        wrong.Headers.Add("X-Api-Key", "another-wrong-key-through-the-proxy");
        using var wrongResponse = await _proxy.Client.SendAsync(wrong);

        Assert.Equal(HttpStatusCode.Unauthorized, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        var refusals = _server.Logs.Lines.Where(l => l.Contains("Refused a dashboard sign-in", StringComparison.Ordinal) || l.Contains("unknown API key", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, refusals.Count);
        Assert.All(refusals, line => Assert.Contains(Client.ToString(), line, StringComparison.Ordinal));
        Assert.DoesNotContain("wrong-key-through-the-proxy", _server.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughTheProxy_ASignedInBrowserPlaysMediaWithTheCookieAlone()
    {
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies }) { BaseAddress = _proxy.BaseAddress };

        using var signIn = await browser.PostAsJsonAsync("api/auth/sign-in", new { key = ReaderKey });
        using var media = await browser.GetAsync($"api/recordings/{_key}/chunks/0/media");

        Assert.Equal(HttpStatusCode.NoContent, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, media.StatusCode);
        Assert.Equal("audio/wav", media.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>A chunk played through the proxy: the audit record names the key (never the key itself), the client's address and the bytes sent.</summary>
    [Fact]
    public async Task ThroughTheProxy_TheAuditRecordNamesTheKeyAndTheClientsAddress()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/recordings/{_key}/chunks/0/media");
        request.Headers.Add("X-Api-Key", ReaderKey);
        using var media = await _proxy.Client.SendAsync(request);
        var length = (await media.Content.ReadAsByteArrayAsync()).LongLength;
        using var auditor = new HttpClient { BaseAddress = _server.BaseAddress };
        auditor.DefaultRequestHeaders.Add("X-Api-Key", OperatorKey);

        JsonElement[] records;
        var deadline = Stopwatch.StartNew();
        do
        {
            // Committed as the answer ends, a moment after the client may have read the last byte.
            var page = await auditor.GetFromJsonAsync<JsonElement>($"api/audit?recording={Uri.EscapeDataString(_key)}&who=viewer");
            records = [.. page.GetProperty("records").EnumerateArray()];
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "no audit record of the read");
        }
        while (records.Length == 0 && await Delay());

        Assert.Equal(HttpStatusCode.OK, media.StatusCode);
        var record = Assert.Single(records);
        Assert.Equal(
            ("viewer", "media.read", Client.ToString(), length, 200),
            (record.GetProperty("who").GetString(), record.GetProperty("action").GetString(), record.GetProperty("remoteAddress").GetString(), record.GetProperty("bytes").GetInt64(), record.GetProperty("status").GetInt32()));
        Assert.DoesNotContain(ReaderKey, await auditor.GetStringAsync("api/audit"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(HttpMethod.Get, "api/audit", ReaderKey));

        static async Task<bool> Delay()
        {
            await Task.Delay(50);
            return true;
        }
    }

    private async Task<HttpStatusCode> StatusAsync(HttpMethod method, string path, string? key)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        using var response = await _proxy.Client.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Waits (reading the API directly with the reader key) until the call's recording is stored; returns its key.</summary>
    private async Task<string> WaitForStoredAsync(string callId)
    {
        using var client = new HttpClient { BaseAddress = _server.BaseAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", ReaderKey);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var list = await client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}");
            if (list is [var found] && found.GetProperty("status").GetString() == "stored")
            {
                return found.GetProperty("key").GetString()!;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"The recording was not stored: {JsonSerializer.Serialize(list)}");
            await Task.Delay(100);
        }
    }
}

/// <summary>The service as its own process: listening beyond loopback without keys, it refuses to start and says what to set.</summary>
public sealed class StartupRefusalTests
{
    [Theory]
    [InlineData("Urls", "http://0.0.0.0:{port}")]
    [InlineData("--urls", "http://[::]:{port}")]
    [InlineData("Urls", "http://localhost:{port};http://192.0.2.10:{port}")]
    [InlineData("ASPNETCORE_HTTP_PORTS", "{port}")]
    [InlineData("Kestrel__Endpoints__Http__Url", "http://*:{port}")]
    [InlineData("Urls", "http://unix:/tmp/callvault-{port}.sock")]
    public async Task ListeningBeyondLoopbackWithoutKeys_RefusesToStart(string variable, string value)
    {
        var data = Directory.CreateTempSubdirectory("callvault-refusal-");
        try
        {
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet") { ArgumentList = { RepositoryPaths.BuiltAssembly("CallVault.Server") }, WorkingDirectory = data.FullName };
            start.Environment["CallVault__DataDirectory"] = data.FullName;
            start.Environment.Remove("Urls");
            start.Environment.Remove("ASPNETCORE_URLS");
            var setting = value.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            if (variable.StartsWith("--", StringComparison.Ordinal))
            {
                start.ArgumentList.Add(variable);
                start.ArgumentList.Add(setting);
            }
            else
            {
                start.Environment[variable] = setting;
            }

            if (variable == "ASPNETCORE_HTTP_PORTS")
            {
                // Kestrel uses the ports only when no URLs are set, and appsettings.json sets a loopback one.
                start.Environment["Urls"] = string.Empty;
            }

            var result = await ChildProcess.RunAsync(start, input: null, TimeSpan.FromSeconds(60));

            Assert.NotEqual(0, result.ExitCode);
            var output = result.Output + result.Error;
            Assert.Contains("CallVault:Api:Keys:<name>:Role", output, StringComparison.Ordinal);
            Assert.Contains("CallVault:Api:AllowAnonymous=true", output, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TrustedProxiesWithoutKeys_RefuseToStart()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => ServerUnderTest.StartAsync(emulator: null, s =>
            s["CallVault:Api:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1"));

        Assert.Contains(error.Failures, f => f.Contains("forwarded headers are trusted", StringComparison.Ordinal) && f.Contains("CallVault:Api:Keys", StringComparison.Ordinal));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

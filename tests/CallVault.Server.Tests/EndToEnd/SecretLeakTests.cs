using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallVault.Emulator;
using Xunit.Abstractions;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The service as its own process with an API key, a webhook secret (sent as <c>?code=</c>) and an ACS access key, every
/// log category at Trace, exercised with each secret and then through every operation its OpenAPI document lists: no
/// response (status, header or body), no line it wrote to stdout or stderr and no metric label holds any of the
/// secrets in any form it could take. A request's query string never reaches the log either. New endpoints are covered
/// as soon as they appear in the OpenAPI document.
/// </summary>
public sealed class SecretLeakTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-secrets-").FullName;
    private readonly string _webhookSecret = "whsec" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _apiKey = "apikey" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _metricsKey = "metrics" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _queryMarker = "qmark" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private readonly List<(string Where, string Text)> _responses = [];
    private AcsEmulator _emulator = null!;
    private ServiceChildProcess _service = null!;
    private HttpClient _anonymous = null!;
    private HttpClient _withKey = null!;
    private HttpClient _withMetricsKey = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        var settings = ServerUnderTest.SettingsFor(_emulator, _dataFolder, _webhookSecret);
        settings["CallVault:Api:Keys:ops:Key"] = _apiKey;
        settings["CallVault:Api:Keys:ops:Role"] = "operator";
        settings["CallVault:Api:Keys:scraper:Key"] = _metricsKey;
        settings["CallVault:Api:Keys:scraper:Role"] = "metrics";

        // Everything at Trace, for every provider, and the hosting log asked for by name: nothing may bring a secret back.
        settings["Logging:LogLevel:Default"] = "Trace";
        settings["Logging:LogLevel:Microsoft"] = "Trace";
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
        settings["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace";
        settings["Logging:LogLevel:Microsoft.Extensions.Http"] = "Trace";
        settings["Logging:Console:LogLevel:Default"] = "Trace";
        settings["Logging:Console:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace";
        _service = new ServiceChildProcess(settings);
        await _service.StartAsync();
        _anonymous = new HttpClient { BaseAddress = _service.BaseAddress, Timeout = Timeout };
        _withKey = new HttpClient { BaseAddress = _service.BaseAddress, Timeout = Timeout };
        _withKey.DefaultRequestHeaders.Add("X-Api-Key", _apiKey);
        _withMetricsKey = new HttpClient { BaseAddress = _service.BaseAddress, Timeout = Timeout };
        _withMetricsKey.DefaultRequestHeaders.Add("X-Api-Key", _metricsKey);
    }

    public async Task DisposeAsync()
    {
        _anonymous.Dispose();
        _withKey.Dispose();
        _withMetricsKey.Dispose();
        await _service.DisposeAsync();
        await _emulator.DisposeAsync();
        Directory.Delete(_dataFolder, recursive: true);
    }

    /// <summary>Every form a secret could leak in: as is, URL-escaped, base64 of its text, and for the access key its bytes in hex and base64url.</summary>
    private List<(string Name, string Form)> SecretForms()
    {
        var accessKey = Convert.ToBase64String(_emulator.Context.AccessKey.Span);
        List<(string, string)> forms = [("access key", accessKey), ("access key", Uri.EscapeDataString(accessKey)),
            ("access key", Convert.ToHexString(_emulator.Context.AccessKey.Span)),
            ("access key", accessKey.TrimEnd('=').Replace('+', '-').Replace('/', '_'))];
        foreach (var (name, secret) in new[] { ("webhook secret", _webhookSecret), ("API key", _apiKey), ("metrics key", _metricsKey) })
        {
            forms.Add((name, secret));
            forms.Add((name, Convert.ToBase64String(Encoding.UTF8.GetBytes(secret))));
        }

        return forms;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? content = null)
    {
        var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        using var request = new HttpRequestMessage(method, $"{path}{separator}trace={_queryMarker}") { Content = content };
        var response = await client.SendAsync(request);
        var headers = string.Join('\n', response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(",", h.Value)}"));
        _responses.Add(($"{method} {path} ({(ReferenceEquals(client, _anonymous) ? "anonymous" : "with a key")}) -> {(int)response.StatusCode}", $"{headers}\n{await response.Content.ReadAsStringAsync()}"));
        return response;
    }

    private async Task<JsonElement> WaitUntilStoredAsync(string callId)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var response = await SendAsync(_withKey, HttpMethod.Get, $"api/recordings?callId={callId}");
            var list = await response.Content.ReadFromJsonAsync<JsonElement[]>();
            if (list is [var found] && found.GetProperty("status").GetString() == "stored")
            {
                return found;
            }

            Assert.True(deadline.Elapsed < Timeout, $"The recording was not stored: {JsonSerializer.Serialize(list)}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task EverySecret_UsedEverywhere_NeverInAResponseALogLineOrAMetric()
    {
        // The webhook secret: a subscription (its handshake and deliveries carry ?code=), then deliveries by hand.
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        using (var subscribe = await admin.PostAsJsonAsync("subscriptions", new { endpoint = new Uri(_service.BaseAddress, $"api/events?code={_webhookSecret}").AbsoluteUri }))
        {
            Assert.True(subscribe.IsSuccessStatusCode, await subscribe.Content.ReadAsStringAsync());
        }

        // The access key: the emulator checks the signature of every download.
        using var recorded = await admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 300_000, chunkSizeLimitBytes = 200_000 });
        Assert.True(recorded.IsSuccessStatusCode, await recorded.Content.ReadAsStringAsync());
        var callId = (await recorded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("callId").GetString()!;
        var recording = await WaitUntilStoredAsync(callId);
        var key = recording.GetProperty("key").GetString()!;

        // A failed webhook authentication, a bad request with the right secret, the secret in its header form.
        // Wrong secrets and keys are the right ones with a suffix, so that echoing what was presented is caught too.
        (await SendAsync(_anonymous, HttpMethod.Post, $"api/events?code={_webhookSecret}-wrong", JsonContent.Create(Array.Empty<object>()))).Dispose();
        (await SendAsync(_anonymous, HttpMethod.Post, $"api/events?code={_webhookSecret}", new StringContent("{not json", Encoding.UTF8, "application/json"))).Dispose();
        using (var headerForm = new StringContent("[]", Encoding.UTF8, "application/json"))
        {
            headerForm.Headers.Add("X-CallVault-Secret", _webhookSecret);
            (await SendAsync(_anonymous, HttpMethod.Post, "api/events", headerForm)).Dispose();
        }

        // The API key: the API, the media, a wrong key, /metrics and readiness with and without it.
        using (var wrongKey = new HttpClient { BaseAddress = _service.BaseAddress })
        {
            wrongKey.DefaultRequestHeaders.Add("X-Api-Key", _apiKey + "-wrong");
            (await SendAsync(wrongKey, HttpMethod.Get, "api/recordings")).Dispose();
        }

        // The dashboard's sign-in takes the key in a JSON body: a wrong one and the right one.
        using var dashboard = new HttpClient { BaseAddress = _service.BaseAddress, Timeout = Timeout };
        dashboard.DefaultRequestHeaders.Add("X-CallVault-Request", "1");
        (await SendAsync(dashboard, HttpMethod.Post, "api/auth/sign-in", JsonContent.Create(new { key = _apiKey + "-wrong" }))).Dispose();
        using (var signIn = await SendAsync(dashboard, HttpMethod.Post, "api/auth/sign-in", JsonContent.Create(new { key = _apiKey })))
        {
            Assert.True(signIn.IsSuccessStatusCode);
        }

        using (var media = await SendAsync(_withKey, HttpMethod.Get, $"api/recordings/{key}/chunks/0/media"))
        {
            Assert.True(media.IsSuccessStatusCode);
        }

        foreach (var client in new[] { _anonymous, _withKey, _withMetricsKey })
        {
            foreach (var path in new[] { "metrics", "health/ready", "health/live", $"api/recordings/{key}" })
            {
                (await SendAsync(client, HttpMethod.Get, path)).Dispose();
            }
        }

        // Every operation the OpenAPI document lists, with and without the key.
        using var openApi = await SendAsync(_withKey, HttpMethod.Get, "openapi/v1.json");
        Assert.True(openApi.IsSuccessStatusCode);
        var document = await openApi.Content.ReadFromJsonAsync<JsonElement>();
        var operations = 0;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            var concrete = path.Name.TrimStart('/')
                .Replace("{key}", key, StringComparison.Ordinal)
                .Replace("{index}", "0", StringComparison.Ordinal);
            concrete = System.Text.RegularExpressions.Regex.Replace(concrete, "{[^}]+}", "unknown-id");
            foreach (var operation in path.Value.EnumerateObject())
            {
                var method = new HttpMethod(operation.Name.ToUpperInvariant());
                foreach (var client in new[] { _anonymous, _withKey, _withMetricsKey })
                {
                    (await SendAsync(client, method, concrete, method == HttpMethod.Get ? null : JsonContent.Create(new { }))).Dispose();
                    operations++;
                }
            }
        }

        Assert.True(operations >= 30, $"The OpenAPI document listed too few operations: {operations / 3}");
        using (var metrics = await SendAsync(_withMetricsKey, HttpMethod.Get, "metrics"))
        {
            Assert.True(metrics.IsSuccessStatusCode);
        }

        await _service.StopAsync(Timeout);

        var lines = _service.StandardOutputLines.Concat(_service.StandardError.Split('\n')).ToList();
        output.WriteLine($"{lines.Count} log lines, {_responses.Count} responses; for example:");
        foreach (var sample in lines.Where(l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal)).Take(4))
        {
            output.WriteLine(sample);
        }

        // Logging really was on at Trace, HttpClient's request logs included; otherwise this test would prove nothing.
        Assert.Contains(lines, l => l.StartsWith("trce: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal) && l.Contains("/v1/objects/", StringComparison.Ordinal));
        var leaks = new List<string>();
        foreach (var (name, form) in SecretForms())
        {
            leaks.AddRange(lines.Where(l => l.Contains(form, StringComparison.OrdinalIgnoreCase)).Select(l => $"log line has the {name}: {l}"));
            leaks.AddRange(_responses.Where(r => r.Text.Contains(form, StringComparison.OrdinalIgnoreCase)).Select(r => $"response to {r.Where} has the {name}"));
        }

        leaks.AddRange(lines.Where(l => l.Contains(_queryMarker, StringComparison.Ordinal)).Select(l => $"log line has a query string: {l}"));
        Assert.True(leaks.Count == 0, string.Join('\n', leaks.Take(20)));
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>Every answer of the dashboard and the API carries the browser security headers; API answers are never cached.</summary>
public sealed class SecurityHeadersTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task EveryAnswer_CarriesTheSecurityHeaders_AndApiAnswersAreNotStored()
    {
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        var recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 1 })).Content.ReadFromJsonAsync<JsonElement>();
        var stored = await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        var key = Uri.EscapeDataString(stored.GetProperty("key").GetString()!);
        string[] dashboard = ["", "index.html", "app.js", "app.css", "health/live", "no-such-page"];
        string[] api = ["api/recordings", $"api/recordings/{key}", $"api/recordings/{key}/chunks/0/media", $"api/recordings/{key}/chunks/0/metadata", $"api/recordings/{key}/chunks/9/media", "api/audit", "api/jobs"];

        foreach (var path in dashboard.Concat(api))
        {
            using var response = await _server.Client.GetAsync(path);
            var headers = response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);

            var csp = headers.GetValueOrDefault("Content-Security-Policy") ?? throw new Xunit.Sdk.XunitException($"{path} has no Content-Security-Policy");
            foreach (var directive in new[] { "default-src 'self'", "script-src 'self'", "media-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'" })
            {
                Assert.Contains(directive, csp, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal(("nosniff", "no-referrer", "DENY"), (headers.GetValueOrDefault("X-Content-Type-Options"), headers.GetValueOrDefault("Referrer-Policy"), headers.GetValueOrDefault("X-Frame-Options")));
            if (api.Contains(path))
            {
                Assert.Equal("no-store", headers.GetValueOrDefault("Cache-Control"));
            }
        }
    }

    /// <summary>The dashboard's page holds no inline script, style or event handler, so the policy above does not break it.</summary>
    [Fact]
    public async Task Dashboard_HasNothingInline()
    {
        var page = await _server.Client.GetStringAsync("index.html");

        Assert.DoesNotMatch(@"<script(?![^>]*\ssrc=)[^>]*>", page);
        Assert.DoesNotMatch(@"<style|\sstyle=|\son[a-z]+=|javascript:", page);
    }
}

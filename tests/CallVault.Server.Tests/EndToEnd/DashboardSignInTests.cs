using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The dashboard of a service with keys, in real headless Chromium: sign in once with a key, play a chunk, and the key
/// is in no request (no URL, no header: the audio's requests carry only the session cookie) and not kept in the browser;
/// the strict Content-Security-Policy raises no violation; the audit log names the key for the chunk played, with the
/// bytes each answer sent; after sign-out the API refuses the browser.
/// </summary>
public sealed class DashboardSignInTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly string ReaderKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    private static readonly string OperatorKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing. ./eng/test.sh installs Debian's chromium package.");
        }

        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator, settings =>
        {
            settings["CallVault:Api:Keys:alice:Role"] = "reader";
            settings["CallVault:Api:Keys:alice:Key"] = ReaderKey;
            settings["CallVault:Api:Keys:auditor:Role"] = "operator";
            settings["CallVault:Api:Keys:auditor:Key"] = OperatorKey;
        });
        _server.Client.DefaultRequestHeaders.Add("X-Api-Key", OperatorKey);
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task SignIn_PlayChunk_SignOut_KeyNeverLeavesTheSignInRequest()
    {
        using (var admin = new HttpClient { BaseAddress = _emulator.AdminBase })
        {
            var recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 3 })).Content.ReadFromJsonAsync<JsonElement>();
            await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        }

        var stored = (await _server.Client.GetFromJsonAsync<JsonElement[]>("api/recordings"))!.Single();
        var key = stored.GetProperty("key").GetString()!;
        var page = await _browser.NewPageAsync();
        var console = new List<string>();
        var requests = new List<IRequest>();
        page.Console += (_, message) => { lock (console) { console.Add($"{message.Type}: {message.Text}"); } };
        page.PageError += (_, error) => { lock (console) { console.Add($"pageerror: {error}"); } };
        page.Request += (_, request) => { lock (requests) { requests.Add(request); } };

        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);
        await page.Locator("#sign-in-view").WaitForAsync(new() { Timeout = 15_000 });
        Assert.True(await page.Locator("#list-view").IsHiddenAsync());
        await page.Locator("#sign-in input[name=key]").FillAsync(ReaderKey);
        await page.Locator("#sign-in button[type=submit]").ClickAsync();
        await page.Locator("#caller-name", new() { HasText = "alice (reader)" }).WaitForAsync(new() { Timeout = 15_000 });

        var row = page.Locator("#recordings tr.recording");
        await row.WaitForAsync(new() { Timeout = 15_000 });
        await row.ClickAsync();
        await page.Locator("audio").WaitForAsync(new() { Timeout = 15_000 });
        var played = await page.EvaluateAsync<double>("""
            async () => {
              const audio = document.querySelector('audio');
              if (audio.readyState < 1) await new Promise(resolve => audio.addEventListener('loadedmetadata', resolve, { once: true }));
              await audio.play();
              await new Promise(resolve => audio.addEventListener('timeupdate', () => audio.currentTime > 0.2 && resolve(), {}));
              return audio.currentTime;
            }
            """);
        Assert.True(played > 0.2);

        // The audio's requests: the session cookie, no key anywhere.
        IRequest[] seen;
        lock (requests)
        {
            seen = [.. requests];
        }

        var media = seen.Where(r => r.Url.Contains($"/chunks/0/media", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(media);
        foreach (var request in media)
        {
            var headers = await request.AllHeadersAsync();
            Assert.Contains("callvault.session=", headers.GetValueOrDefault("cookie") ?? string.Empty, StringComparison.Ordinal);
            Assert.False(headers.ContainsKey("x-api-key"), "the audio request carries a key header");
        }

        foreach (var request in seen)
        {
            Assert.DoesNotContain(ReaderKey, request.Url, StringComparison.Ordinal);
            var headers = await request.AllHeadersAsync();
            Assert.DoesNotContain(headers.Values, value => value.Contains(ReaderKey, StringComparison.Ordinal));
            if (!request.Url.EndsWith("/api/auth/sign-in", StringComparison.Ordinal))
            {
                Assert.DoesNotContain(ReaderKey, request.PostData ?? string.Empty, StringComparison.Ordinal);
            }
        }

        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length + sessionStorage.length"));
        Assert.DoesNotContain(ReaderKey, await page.EvaluateAsync<string>("() => document.cookie + location.href"), StringComparison.Ordinal);

        // The audit log names the key (never the key itself) for the chunk played, with the bytes each answer sent.
        var lengths = new List<long>();
        foreach (var request in media)
        {
            if (await request.ResponseAsync() is { } response && (await response.AllHeadersAsync()).TryGetValue("content-length", out var length))
            {
                lengths.Add(long.Parse(length, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        var reads = await WaitForMediaReadsAsync(key, "alice");
        Assert.All(reads, r =>
        {
            Assert.Equal(0, r.GetProperty("chunkIndex").GetInt64());
            Assert.Equal("127.0.0.1", r.GetProperty("remoteAddress").GetString());
            Assert.True(r.GetProperty("bytes").GetInt64() > 0 || r.GetProperty("aborted").GetBoolean());
        });
        Assert.All(reads.Where(r => !r.GetProperty("aborted").GetBoolean()), r => Assert.Contains(r.GetProperty("bytes").GetInt64(), lengths));
        Assert.DoesNotContain(ReaderKey, await _server.Client.GetStringAsync("api/audit?take=1000"), StringComparison.Ordinal);

        // Signed out: the sign-in form again, and the API refuses the browser.
        await page.Locator("#sign-out").ClickAsync();
        await page.Locator("#sign-in-view").WaitForAsync(new() { Timeout = 15_000 });
        Assert.Equal(401, await page.EvaluateAsync<int>("async () => (await fetch('/api/recordings')).status"));
        Assert.Equal(401, await page.EvaluateAsync<int>($"async () => (await fetch('/api/recordings/{Uri.EscapeDataString(key)}/chunks/0/media')).status"));
        Assert.Equal(0, await page.Locator("#recordings tr.recording").CountAsync());

        lock (console)
        {
            Assert.DoesNotContain(console, line => line.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || line.StartsWith("pageerror", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// A key an older dashboard left in local storage is forgotten on load and never sent: sent as X-Api-Key, it would
    /// override the session, so signing out would not sign the Sessions view out.
    /// </summary>
    [Fact]
    public async Task KeyLeftInLocalStorage_IsRemovedAndNeverSent()
    {
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);
        await page.EvaluateAsync("key => localStorage.setItem('callvault-api-key', key)", OperatorKey);

        var sessionsRequest = await page.RunAndWaitForRequestAsync(
            () => page.ReloadAsync(),
            request => request.Url.Contains("/api/sessions", StringComparison.Ordinal),
            new() { Timeout = 15_000 });

        Assert.False((await sessionsRequest.AllHeadersAsync()).ContainsKey("x-api-key"), "the Sessions view sent a stored key");
        Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('callvault-api-key')"));
    }

    /// <summary>A wrong key is refused with a message, and nothing is shown.</summary>
    [Fact]
    public async Task SignIn_WithAWrongKey_IsRefused()
    {
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);
        await page.Locator("#sign-in input[name=key]").FillAsync("not-a-key-of-this-service");
        await page.Locator("#sign-in button[type=submit]").ClickAsync();

        await page.Locator("#sign-in-error", new() { HasText = "not accepted" }).WaitForAsync(new() { Timeout = 15_000 });
        Assert.True(await page.Locator("#list-view").IsHiddenAsync());
        Assert.Equal(string.Empty, await page.Locator("#sign-in input[name=key]").InputValueAsync());
    }

    private async Task<JsonElement[]> WaitForMediaReadsAsync(string key, string who)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var page = await _server.Client.GetFromJsonAsync<JsonElement>($"api/audit?who={who}&recording={Uri.EscapeDataString(key)}&take=1000");
            var reads = page.GetProperty("records").EnumerateArray().Where(r => r.GetProperty("action").GetString() == "media.read").ToArray();
            if (reads.Any(r => r.GetProperty("bytes").GetInt64() > 0))
            {
                return reads;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"no media.read by {who}: {page}");
            await Task.Delay(50);
        }
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The dashboard in real headless Chromium (Debian's package, driven by Playwright): the list shows a recording the
/// emulator produced, its player loads, plays and seeks the stored audio, channels are labelled with participants,
/// Retry brings a dead-lettered chunk back, the filters narrow the list, and a download in flight shows its bytes.
/// </summary>
public sealed class DashboardTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private HttpClient _admin = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing. ./eng/test.sh installs Debian's chromium package.");
        }

        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await _admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
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
        _admin.Dispose();
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private async Task<JsonElement> RecordAsync(object spec) =>
        await (await _admin.PostAsJsonAsync("recordings", spec)).Content.ReadFromJsonAsync<JsonElement>();

    [Fact]
    public async Task Recording_IsListedAndItsAudioPlaysAndSeeks()
    {
        var recording = await RecordAsync(new { durationSeconds = 4, channelType = "unmixed", participants = new[] { "8:acs:agent", "4:+14255550123" } });
        var callId = recording.GetProperty("callId").GetString()!;
        await _server.WaitForRecordingAsync(callId);
        var page = await _browser.NewPageAsync();

        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);
        var row = page.Locator("#recordings tr.recording", new() { HasText = callId });
        await row.WaitForAsync(new() { Timeout = 15_000 });
        Assert.Contains("stored", await row.InnerTextAsync(), StringComparison.Ordinal);
        await row.ClickAsync();
        await page.Locator("audio").WaitForAsync(new() { Timeout = 15_000 });

        var playback = await page.EvaluateAsync<double[]>("""
            async () => {
              const audio = document.querySelector('audio');
              if (audio.readyState < 1) await new Promise(resolve => audio.addEventListener('loadedmetadata', resolve, { once: true }));
              await audio.play();
              await new Promise(resolve => setTimeout(resolve, 800));
              const played = audio.currentTime;
              const seeked = new Promise(resolve => audio.addEventListener('seeked', resolve, { once: true }));
              audio.currentTime = 3;
              await seeked;
              return [played, audio.currentTime, audio.duration];
            }
            """);

        Assert.True(playback[0] > 0.2, $"the audio did not play: currentTime {playback[0]}");
        Assert.InRange(playback[1], 2.9, 4.0);
        Assert.InRange(playback[2], 3.9, 4.1);
        var participants = await page.Locator("#participants").InnerTextAsync();
        Assert.Contains("channel 0: 8:acs:agent", participants, StringComparison.Ordinal);
        Assert.Contains("channel 1: 4:+14255550123", participants, StringComparison.Ordinal);
        Assert.Equal("health Healthy", await page.Locator("#health").GetAttributeAsync("class"));
    }

    [Fact]
    public async Task DeadLetter_RetryButtonBringsTheChunkBack()
    {
        // The metadata request answers 404 once: the chunk looks gone and is dead-lettered at once.
        (await _admin.PostAsJsonAsync("faults", new { target = "Metadata", fault = new { type = "Status", status = 404 } })).EnsureSuccessStatusCode();
        var recording = await RecordAsync(new { durationSeconds = 2 });
        var callId = recording.GetProperty("callId").GetString()!;
        await _server.WaitForRecordingAsync(callId, "failed");
        var page = await _browser.NewPageAsync();

        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);
        var deadLetter = page.Locator("#dead-letters tr.dead-letter", new() { HasText = recording.GetProperty("chunks")[0].GetProperty("documentId").GetString()! });
        await deadLetter.WaitForAsync(new() { Timeout = 15_000 });
        await deadLetter.Locator("button.retry").ClickAsync();

        await page.Locator("#recordings tr.recording", new() { HasText = callId }).Filter(new() { HasText = "stored" }).WaitForAsync(new() { Timeout = 20_000 });
        Assert.Equal(0, await page.Locator("#dead-letters tr.dead-letter").CountAsync());
    }

    /// <summary>An event the webhook refused is listed with its reason, and its raw JSON is shown as text.</summary>
    [Fact]
    public async Task RejectedEvent_IsListedWithItsReason()
    {
        using var delivery = new StringContent("""[{"id":"<b>not-markup</b>","subject":"s","eventType":"x","eventTime":"not a time","dataVersion":"1"}]""", System.Text.Encoding.UTF8, "application/json");
        using var delivered = await _server.Client.PostAsync(_server.WebhookUrl, delivery);
        delivered.EnsureSuccessStatusCode();
        var page = await _browser.NewPageAsync();

        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);

        var row = page.Locator("#rejected-events tr.rejected-event");
        await row.WaitForAsync(new() { Timeout = 15_000 });
        Assert.Contains("Not a readable Event Grid event", await row.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("<b>not-markup</b>", await row.Locator("code").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("(1)", await page.Locator("#rejected-total").InnerTextAsync());
    }

    [Fact]
    public async Task Filters_NarrowTheListAndLiveInTheAddress()
    {
        var agent = await RecordAsync(new { durationSeconds = 2, participants = new[] { "8:acs:agent-filter", "4:+14255550199" } });
        var other = await RecordAsync(new { durationSeconds = 6, participants = new[] { "8:acs:someone-else" } });
        await _server.WaitForRecordingAsync(agent.GetProperty("callId").GetString()!);
        await _server.WaitForRecordingAsync(other.GetProperty("callId").GetString()!);
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);
        await page.Locator("#recordings tr.recording").Nth(1).WaitForAsync(new() { Timeout = 15_000 });

        await page.Locator("#filters input[name=participant]").FillAsync("+14255550199");
        await page.Locator("#filters button[type=submit]").ClickAsync();

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#recordings tr.recording').length === 1");
        Assert.Contains(agent.GetProperty("callId").GetString()!, await page.Locator("#recordings tr.recording").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("participant=%2B14255550199", page.Url, StringComparison.Ordinal);

        await page.Locator("#filters button[type=reset]").ClickAsync();
        await page.Locator("#filters select[name=sort]").SelectOptionAsync("Longest");
        await page.Locator("#filters button[type=submit]").ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#recordings tr.recording').length === 2 && location.hash.includes('sort=Longest')");
        Assert.Contains(other.GetProperty("callId").GetString()!, await page.Locator("#recordings tr.recording").First.InnerTextAsync(), StringComparison.Ordinal);

        await page.Locator("#filters select[name=status]").SelectOptionAsync("failed");
        await page.Locator("#filters button[type=submit]").ClickAsync();
        await page.Locator("#recordings td", new() { HasText = "No recordings match." }).WaitForAsync(new() { Timeout = 15_000 });
    }

    [Fact]
    public async Task DownloadInFlight_ShowsItsBytesAsTheyArrive()
    {
        // 256 KiB/s per connection: a 6 MiB chunk takes several seconds, long enough to watch it arrive.
        (await _admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 256 * 1024 })).EnsureSuccessStatusCode();
        var recording = await RecordAsync(new { durationSeconds = 30, media = "synthetic", sizeBytes = 6 * 1024 * 1024 });
        var callId = recording.GetProperty("callId").GetString()!;
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);

        var download = page.Locator("#in-flight tr.download");
        await download.WaitForAsync(new() { Timeout = 20_000 });
        await page.WaitForFunctionAsync("() => { const p = document.querySelector('#in-flight progress'); return p && p.value > 0 && p.value < p.max; }", null, new() { Timeout = 20_000 });
        Assert.Contains("of 6.0 MiB", await download.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Matches(@"downloading \d+%", await page.Locator("#recordings tr.recording", new() { HasText = callId }).InnerTextAsync());

        (await _admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 0 })).EnsureSuccessStatusCode();
        await page.Locator("#recordings tr.recording", new() { HasText = callId }).Filter(new() { HasText = "stored" }).WaitForAsync(new() { Timeout = 30_000 });
        await page.WaitForFunctionAsync("() => document.getElementById('in-flight-view').hidden");
    }
}

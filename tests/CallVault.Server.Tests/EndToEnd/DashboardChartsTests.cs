using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The dashboard's pictures in real headless Chromium (Debian's package, driven by Playwright): the activity charts draw
/// the service's timeline of recordings the emulator produced, a recording's waveform has one lane per channel of its
/// audio, labelled with the participants, marks its pause and has a cursor that follows the player, and a chunk not yet
/// stored shows the time ACS still keeps it, by the service's clock.
/// </summary>
public sealed class DashboardChartsTests : IAsyncLifetime
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

    /// <summary>A page that fails the test on any script error or refused resource (the CSP stays strict).</summary>
    private async Task<IPage> NewPageAsync(List<string> problems)
    {
        var page = await _browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        page.PageError += (_, error) => problems.Add(error);
        page.Console += (_, message) =>
        {
            // Every error counts, the browser's own icon request too: the page names its icon, so it must be served.
            if (message.Type == "error")
            {
                problems.Add($"{message.Text} ({message.Location})");
            }
        };
        return page;
    }

    [Fact]
    public async Task Charts_DrawTheServicesTimelineOfWhatWasStoredAndWhatFailed()
    {
        var stored = new List<JsonElement>();
        foreach (var seconds in new[] { 2, 3, 4 })
        {
            var recording = await RecordAsync(new { durationSeconds = seconds });
            stored.Add(await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!));
        }

        // The metadata request answers 404 once: the chunk looks gone and is given up on at once.
        (await _admin.PostAsJsonAsync("faults", new { target = "Metadata", fault = new { type = "Status", status = 404 } })).EnsureSuccessStatusCode();
        var failing = await RecordAsync(new { durationSeconds = 2 });
        await _server.WaitForRecordingAsync(failing.GetProperty("callId").GetString()!, "failed");

        var hourly = await _server.Client.GetFromJsonAsync<JsonElement>("api/stats/timeline?bucket=hour");
        var daily = await _server.Client.GetFromJsonAsync<JsonElement>("api/stats/timeline?bucket=day");
        long Sum(JsonElement timeline, string name) => timeline.GetProperty("points").EnumerateArray().Sum(p => p.GetProperty(name).GetInt64());
        Assert.Equal(48, hourly.GetProperty("points").GetArrayLength());
        Assert.Equal(30, daily.GetProperty("points").GetArrayLength());
        Assert.Equal(3, Sum(hourly, "recordingsStored"));
        Assert.Equal(3, Sum(daily, "recordingsStored"));
        Assert.Equal(stored.Sum(r => r.GetProperty("storedBytes").GetInt64()), Sum(hourly, "bytesStored"));
        Assert.Equal(1, Sum(hourly, "failed"));
        Assert.Equal(0, hourly.GetProperty("points")[47].GetProperty("backlog").GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, (await _server.Client.GetAsync("api/stats/timeline?bucket=week")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _server.Client.GetAsync("api/stats/timeline?bucket=hour&from=2020-01-01T00:00:00Z")).StatusCode);

        var problems = new List<string>();
        var page = await NewPageAsync(problems);
        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);

        // Each chart draws the API's numbers: the series' totals are kept on the chart for this check.
        await page.WaitForFunctionAsync("() => document.querySelector('#chart-stored-hourly')?.dataset.totals === '3'", null, new() { Timeout = 15_000 });
        Assert.Equal("3", await page.Locator("#chart-stored-daily").GetAttributeAsync("data-totals"));
        Assert.Equal("1", await page.Locator("#chart-failures").GetAttributeAsync("data-totals"));
        Assert.Equal("48", await page.Locator("#chart-bytes").GetAttributeAsync("data-points"));
        Assert.Equal("48", await page.Locator("#chart-backlog").GetAttributeAsync("data-points"));
        foreach (var id in new[] { "chart-stored-hourly", "chart-stored-daily", "chart-backlog", "chart-bytes", "chart-failures" })
        {
            Assert.Equal(1, await page.Locator($"#{id} canvas").CountAsync());
        }

        // The stored bars are really painted: the canvas holds pixels of their blue.
        var blue = await page.EvaluateAsync<int>("""
            () => {
              const canvas = document.querySelector('#chart-stored-hourly canvas');
              const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              let count = 0;
              for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i + 2] > pixels[i] + 80 && pixels[i + 2] > pixels[i + 1] + 50) count++;
              return count;
            }
            """);
        Assert.True(blue > 20, $"the hourly chart's bars are not painted ({blue} blue pixels)");
        Assert.Contains("3 recordings", await page.Locator("#charts-summary").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("favicon.svg", await page.Locator("link[rel='icon']").GetAttributeAsync("href"));
        using var icon = await _server.Client.GetAsync("favicon.svg");
        Assert.Equal(HttpStatusCode.OK, icon.StatusCode);
        Assert.Equal("image/svg+xml", icon.Content.Headers.ContentType?.MediaType);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Waveform_HasALanePerAudioChannelLabelledWithItsParticipant_AndTheCursorFollowsThePlayer()
    {
        string[] participants = ["8:acs:agent-wave", "4:+14255550142", "8:acs:supervisor"];
        var recording = await RecordAsync(new { durationSeconds = 6, channelType = "unmixed", participants, pauses = new[] { new { startSeconds = 2.0, durationSeconds = 1.0 } } });
        var manifest = await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        var key = manifest.GetProperty("key").GetString()!;
        var problems = new List<string>();
        var page = await NewPageAsync(problems);

        await page.GotoAsync(new Uri(_server.BaseAddress, $"#/recordings/{Uri.EscapeDataString(key)}").AbsoluteUri);
        var waveform = page.Locator(".waveform[data-status='200']");
        await waveform.WaitForAsync(new() { Timeout = 15_000 });

        var lanes = page.Locator(".waveform .lane");
        Assert.Equal(3, await lanes.CountAsync());
        for (var channel = 0; channel < 3; channel++)
        {
            var label = await lanes.Nth(channel).Locator(".lane-label").InnerTextAsync();
            Assert.Contains($"channel {channel}", label, StringComparison.Ordinal);
            Assert.Contains(participants[channel], label, StringComparison.Ordinal);
        }

        Assert.Equal(1, await page.Locator(".waveform .pause-marker").CountAsync());

        // The lanes match the audio itself, as Chromium decodes it: as many channels, and each lane loud exactly where
        // its channel is (each participant speaks in turn; the pause is silent).
        var agreement = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const audio = document.querySelector('audio');
              const media = await (await fetch(audio.src, { credentials: 'same-origin' })).arrayBuffer();
              const decoded = await new OfflineAudioContext(1, 1, 16000).decodeAudioData(media);
              const key = decodeURIComponent(location.hash.substring('#/recordings/'.length));
              const peaks = await (await fetch(`/api/recordings/${encodeURIComponent(key)}/chunks/0/waveform?points=120`, { credentials: 'same-origin' })).json();
              let agree = 0, total = 0;
              for (let c = 0; c < decoded.numberOfChannels; c++) {
                const samples = decoded.getChannelData(c);
                const per = Math.floor(samples.length / peaks.points);
                for (let i = 0; i < peaks.points; i++) {
                  let loud = 0;
                  for (let j = i * per; j < (i + 1) * per; j++) loud = Math.max(loud, Math.abs(samples[j]));
                  agree += (loud > 0.05) === (peaks.lanes[c].max[i] > 0.05) ? 1 : 0;
                  total++;
                }
              }
              return { channels: decoded.numberOfChannels, lanes: peaks.lanes.length, agreement: agree / total };
            }
            """);
        Assert.Equal(3, agreement.GetProperty("channels").GetInt32());
        Assert.Equal(3, agreement.GetProperty("lanes").GetInt32());
        Assert.True(agreement.GetProperty("agreement").GetDouble() > 0.95, $"the lanes do not match the audio: {agreement}");

        // Seeking moves the cursor to the player's time (the page records where it put the cursor, on the player's events).
        await page.EvaluateAsync("""
            async () => {
              const audio = document.querySelector('audio');
              if (audio.readyState < 1) await new Promise(resolve => audio.addEventListener('loadedmetadata', resolve, { once: true }));
              const seeked = new Promise(resolve => audio.addEventListener('seeked', resolve, { once: true }));
              audio.currentTime = 3;
              await seeked;
            }
            """);
        await page.WaitForFunctionAsync("() => Math.abs(Number(document.querySelector('.waveform').dataset.cursorFraction) - 0.5) < 0.02");

        // Clicking a quarter of the way along seeks there.
        var box = (await page.Locator(".waveform-overlay").BoundingBoxAsync())!;
        await page.Mouse.ClickAsync(box.X + (box.Width * 0.25f), box.Y + (box.Height / 2));
        await page.WaitForFunctionAsync("() => Math.abs(document.querySelector('audio').currentTime - 1.5) < 0.1 && Math.abs(Number(document.querySelector('.waveform').dataset.cursorFraction) - 0.25) < 0.02");

        // Playing moves the cursor on: waited for by the cursor's own record of the player's time, not by a sleep.
        await page.EvaluateAsync("() => document.querySelector('audio').play()");
        await page.WaitForFunctionAsync("() => Number(document.querySelector('.waveform').dataset.cursorTime) > 1.8", null, new() { Timeout = 15_000 });
        await page.EvaluateAsync("() => document.querySelector('audio').pause()");
        var left = await page.EvaluateAsync<string>("() => document.querySelector('.waveform-cursor').style.left");
        Assert.True(double.Parse(left.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture) > 26, $"the cursor did not move on: left {left}");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Waveform_OfMediaThatIsNotWav_Is415WithAClearMessage_AndTheDashboardSaysSo()
    {
        var recording = await RecordAsync(new { durationSeconds = 3, media = "synthetic", format = "mp3" });
        var manifest = await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        var key = manifest.GetProperty("key").GetString()!;

        using var answer = await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/waveform");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, answer.StatusCode);
        Assert.Contains("PCM WAV", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/waveform?points=0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/9/waveform")).StatusCode);

        // Waveform reads are kept in the access audit log like media reads (appended once the answer is sent).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int[] statuses = [];
        while (statuses.Length < 2 && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            var audit = await _server.Client.GetFromJsonAsync<JsonElement>($"api/audit?recording={Uri.EscapeDataString(key)}");
            statuses = [.. audit.GetProperty("records").EnumerateArray().Where(r => r.GetProperty("action").GetString() == "waveform.read").Select(r => r.GetProperty("status").GetInt32()).Order()];
            await Task.Delay(100);
        }

        Assert.Equal([404, 415], statuses);

        var page = await _browser.NewPageAsync();
        await page.GotoAsync(new Uri(_server.BaseAddress, $"#/recordings/{Uri.EscapeDataString(key)}").AbsoluteUri);
        await page.Locator(".waveform[data-status='415']").WaitForAsync(new() { Timeout = 15_000 });
        Assert.Contains("No waveform", await page.Locator(".waveform").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChunkNotStoredYet_ShowsTheTimeLeftBeforeAcsDeletesIt_ByTheServicesClock()
    {
        // 256 KiB/s: a 6 MiB chunk is still downloading while the page is looked at.
        (await _admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 256 * 1024 })).EnsureSuccessStatusCode();
        var recording = await RecordAsync(new { durationSeconds = 30, media = "synthetic", sizeBytes = 6 * 1024 * 1024 });
        var callId = recording.GetProperty("callId").GetString()!;
        var key = (await _server.WaitForRecordingAsync(callId, "downloading")).GetProperty("key").GetString()!;
        var manifest = await _server.Client.GetFromJsonAsync<JsonElement>($"api/recordings/{Uri.EscapeDataString(key)}");
        var secondsLeft = manifest.GetProperty("chunks")[0].GetProperty("acsSecondsLeft").GetInt64();
        Assert.InRange(secondsLeft, (24 * 3600) - 120, 24 * 3600);

        var page = await _browser.NewPageAsync();
        await page.GotoAsync(new Uri(_server.BaseAddress, $"#/recordings/{Uri.EscapeDataString(key)}").AbsoluteUri);
        var left = page.Locator(".chunk .acs-left");
        await left.WaitForAsync(new() { Timeout = 15_000 });
        Assert.Matches(@"ACS deletes it in 2[34] h \d+ min", await left.InnerTextAsync());
        var shown = long.Parse((await left.GetAttributeAsync("data-seconds-left"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(shown, secondsLeft - 60, secondsLeft);

        (await _admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 0 })).EnsureSuccessStatusCode();
        await page.Locator(".chunk[data-state='Stored']").WaitForAsync(new() { Timeout = 30_000 });
        Assert.Equal(0, await page.Locator(".chunk .acs-left").CountAsync());
    }
}

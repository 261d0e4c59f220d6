using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The legal hold on a recording's page in headless Chromium, over the real service and a call the emulator recorded:
/// an operator puts the recording on hold with a reason, sees it (and the service holds it), then clears it.
/// </summary>
public sealed class HoldsDashboardTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing. ./eng/test.sh installs Debian's chromium package.");
        }

        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        var recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 2 })).Content.ReadFromJsonAsync<JsonElement>();
        _key = (await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!)).GetProperty("key").GetString()!;
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
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
    public async Task RecordingPage_SetsAndClearsALegalHold()
    {
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(new Uri(_server.BaseAddress, $"#/recordings/{Uri.EscapeDataString(_key)}").AbsoluteUri);

        await page.Locator("#hold-reason").FillAsync("litigation 2026-114", new() { Timeout = 20_000 });
        await page.Locator("#hold-set").ClickAsync();
        await page.Locator("#hold .hold-active", new() { HasText = "litigation 2026-114" }).WaitForAsync(new() { Timeout = 10_000 });
        var holds = await _server.Client.GetFromJsonAsync<JsonElement[]>("api/holds");
        Assert.Equal(_key, Assert.Single(holds!).GetProperty("recordingKey").GetString());

        await page.Locator("#hold-clear").ClickAsync(new() { Timeout = 10_000 });
        await page.Locator("#hold", new() { HasText = "No legal hold." }).WaitForAsync(new() { Timeout = 10_000 });
        Assert.Empty((await _server.Client.GetFromJsonAsync<JsonElement[]>("api/holds"))!);
    }
}

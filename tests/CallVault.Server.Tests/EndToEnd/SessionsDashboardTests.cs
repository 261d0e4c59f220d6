using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The dashboard's Recording sessions view in headless Chromium, over the real service and the emulator's calls:
/// a session's live state and timeline, Pause/Resume/Stop buttons that reach Call Automation, the link to the stored
/// recording once its files arrive, and the files-missing alarm.
/// </summary>
public sealed class SessionsDashboardTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>Short, so that the files-missing test sees the alarm soon; a session whose files are late only shows it until they come.</summary>
    private static readonly TimeSpan FilesMissingAfter = TimeSpan.FromSeconds(2);

    private CallAutomationSetup _stack = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing. ./eng/test.sh installs Debian's chromium package.");
        }

        _stack = await CallAutomationSetup.StartAsync(FilesMissingAfter);
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
        await _stack.DisposeAsync();
    }

    private static ILocator SessionRow(IPage page, string recordingId) => page.Locator("#sessions tr.session", new() { HasText = recordingId });

    private static Task WaitForStateAsync(IPage page, string recordingId, string state) =>
        SessionRow(page, recordingId).Locator("td.state", new() { HasTextRegex = new System.Text.RegularExpressions.Regex($"^{state}$") })
            .WaitForAsync(new() { Timeout = 20_000 });

    [Fact]
    public async Task Session_IsFollowedLiveControlledByItsButtonsAndLinkedToItsStoredRecording()
    {
        var (serverCallId, callId) = await _stack.PlaceCallAsync(publishFiles: true, "8:acs:agent", "4:+14255550123");
        var recordingId = (await _stack.StartSessionAsync(new { serverCallId })).GetProperty("recordingId").GetString()!;
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_stack.Server.BaseAddress.AbsoluteUri);

        await WaitForStateAsync(page, recordingId, "active");
        var row = SessionRow(page, recordingId);
        Assert.Contains(serverCallId, await row.InnerTextAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("#sessions-alarm").IsHiddenAsync());

        await row.Locator("button.pause").ClickAsync();
        await WaitForStateAsync(page, recordingId, "paused");
        await SessionRow(page, recordingId).Locator("button.resume").ClickAsync();
        await WaitForStateAsync(page, recordingId, "active");
        await _stack.EndCallAsync(serverCallId);
        await WaitForStateAsync(page, recordingId, "stopped");

        var stored = SessionRow(page, recordingId).Locator("td.files a", new() { HasText = "stored" });
        await stored.WaitForAsync(new() { Timeout = 30_000 });
        Assert.False(await SessionRow(page, recordingId).Locator("button.stop").IsEnabledAsync());

        // The timeline opens on a click and tells the whole story in order.
        await SessionRow(page, recordingId).ClickAsync();
        var timeline = page.Locator("#sessions tr.session-timeline:not([hidden])");
        await timeline.Locator("li", new() { HasText = "stored" }).WaitForAsync(new() { Timeout = 10_000 });
        var entries = await timeline.Locator("li.timeline-entry strong").AllInnerTextsAsync();
        AssertInOrder(entries, "start asked", "pause asked", "resume asked", "files arrived", "stored");
        Assert.Contains("not recording", entries);

        await SessionRow(page, recordingId).Locator("td.files a").ClickAsync();
        await page.Locator("#recording-view audio").First.WaitForAsync(new() { Timeout = 15_000 });
        Assert.Contains(callId, await page.Locator("#recording-title").InnerTextAsync(), StringComparison.Ordinal);
    }

    /// <summary>A recording stopped whose files never come raises the alarm above everything, names it, and marks its row.</summary>
    [Fact]
    public async Task SessionWhoseFilesNeverCome_RaisesTheFilesMissingAlarm()
    {
        var (serverCallId, _) = await _stack.PlaceCallAsync(publishFiles: false, "8:acs:agent");
        var recordingId = (await _stack.StartSessionAsync(new { serverCallId })).GetProperty("recordingId").GetString()!;
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_stack.Server.BaseAddress.AbsoluteUri);
        await WaitForStateAsync(page, recordingId, "active");

        await SessionRow(page, recordingId).Locator("button.stop").ClickAsync();

        await WaitForStateAsync(page, recordingId, "stopped");
        var alarm = page.Locator("#sessions-alarm");
        await alarm.WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = 20_000 });
        Assert.Contains(recordingId, await alarm.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("alert", await alarm.GetAttributeAsync("role"));
        await SessionRow(page, recordingId).Locator("td.files-missing").WaitForAsync(new() { Timeout = 10_000 });
        Assert.Contains("files-missing", (await SessionRow(page, recordingId).GetAttributeAsync("class") ?? string.Empty).Split(' '));
    }

    private static void AssertInOrder(IReadOnlyList<string> entries, params string[] expected)
    {
        var at = -1;
        foreach (var wanted in expected)
        {
            var next = entries.ToList().FindIndex(at + 1, e => e == wanted);
            Assert.True(next > at, $"'{wanted}' is missing or out of order in the timeline: {string.Join(" | ", entries)}");
            at = next;
        }
    }
}

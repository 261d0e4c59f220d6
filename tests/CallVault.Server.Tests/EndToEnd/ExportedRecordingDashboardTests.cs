using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using CallVault.Acs;
using CallVault.Acs.CallAutomation;
using CallVault.Emulator;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Bring Your Own Storage in the dashboard, in real headless Chromium: a recording ACS exported to the customer's
/// container (indexed from there, never downloaded from the ACS storage host) plays in the player, and the browser
/// fetches its audio only from CallVault's own media endpoint, never from the container.
/// </summary>
public sealed class ExportedRecordingDashboardTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Alice = "8:acs:6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d_00000001-aaaa-bbbb-cccc-000000000001";

    /// <summary>How long the exported recording lasts, in emulated seconds: long enough to see playback advance.</summary>
    private static readonly TimeSpan RecordingLength = TimeSpan.FromSeconds(4);

    private readonly BlobContainerClient _container = new(TestServices.Azurite, "byos-ui-" + Guid.NewGuid().ToString("N")[..12]);

    // The recording's length is the emulator's clock between start and stop; moving that clock forward gives the
    // exported file a playable length without the test sleeping.
    private readonly SteppedTimeProvider _clock = new();
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;
    private ServiceProvider? _services;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing. ./eng/test.sh installs Debian's chromium package.");
        }

        await _container.CreateAsync();
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions
        {
            EndpointUrl = "http://127.0.0.1:0",
            StorageUrl = "http://127.0.0.1:0",
            TimeFactor = 0.001,
            TimeProvider = _clock,
        });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
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
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        _admin.Dispose();
        await _emulator.DisposeAsync();
        await _container.DeleteIfExistsAsync();
    }

    [Fact]
    public async Task ExportedRecording_PlaysInTheDashboard_ThroughCallVaultsMediaEndpoint()
    {
        using (var registered = await _admin.PostAsJsonAsync("external-storage", new { connectionString = TestServices.Azurite, failExports = false }))
        {
            Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        }

        await using var server = await ServerUnderTest.StartAsync(_emulator, settings =>
        {
            settings["CallVault:Byos:Containers:calls:ContainerUrl"] = _container.Uri.AbsoluteUri;
            settings["CallVault:Byos:Containers:calls:ConnectionString"] = TestServices.Azurite;
        });
        using (var subscribed = await _admin.PostAsJsonAsync("subscriptions", new { endpoint = server.WebhookUrl.AbsoluteUri }))
        {
            Assert.True(subscribed.IsSuccessStatusCode, await subscribed.Content.ReadAsStringAsync());
        }

        var (callId, recordingId) = await RecordExportedAsync();
        var stored = await server.WaitForRecordingAsync(callId);

        // Indexed from the customer's container: nothing was asked of the ACS storage host, nothing written locally.
        Assert.Empty(_emulator.Context.ObjectRequests);
        var expected = Assert.Single(_emulator.Context.Recordings.Find(recordingId)!.Chunks);
        var media = Assert.Single(stored.GetProperty("chunks").EnumerateArray()).GetProperty("media");
        Assert.Equal(expected.Sha256, media.GetProperty("sha256").GetString());
        Assert.StartsWith("byos/", media.GetProperty("path").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(server.RecordingsFolder, "*.wav", SearchOption.AllDirectories));

        var page = await _browser.NewPageAsync();
        var requests = new List<IRequest>();
        page.Request += (_, request) => { lock (requests) { requests.Add(request); } };
        await page.GotoAsync(server.BaseAddress.AbsoluteUri);
        var row = page.Locator("#recordings tr.recording", new() { HasText = callId });
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

        Assert.True(played > 0.2, $"the audio did not play: currentTime {played}");
        IRequest[] seen;
        lock (requests)
        {
            seen = [.. requests];
        }

        var key = stored.GetProperty("key").GetString()!;
        var ownMedia = new Uri(server.BaseAddress, $"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/media").AbsoluteUri;
        var audioRequests = seen.Where(r => r.ResourceType == "media").ToArray();
        Assert.NotEmpty(audioRequests);
        Assert.All(audioRequests, r => Assert.Equal(ownMedia, r.Url));
        var container = _container.Uri.GetLeftPart(UriPartial.Authority);
        Assert.DoesNotContain(seen, r => r.Url.StartsWith(container, StringComparison.OrdinalIgnoreCase));
    }

    private async Task<(string CallId, string RecordingId)> RecordExportedAsync()
    {
        using var created = await _admin.PostAsJsonAsync("calls", new { participants = new[] { Alice } });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var call = await created.Content.ReadFromJsonAsync<JsonElement>();
        var services = new ServiceCollection();
        services.AddCallRecordingClient(options => options.ConnectionString = _emulator.ConnectionString.ToSecretString());
        _services = services.BuildServiceProvider();
        var client = _services.GetRequiredService<CallRecordingClient>();
        var started = await client.StartAsync(new StartRecordingRequest { ServerCallId = call.GetProperty("serverCallId").GetString(), ExternalStorageContainerUrl = _container.Uri });
        _clock.Advance(RecordingLength);
        await client.StopAsync(started.RecordingId);
        return (call.GetProperty("callId").GetString()!, started.RecordingId);
    }
}

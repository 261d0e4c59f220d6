using System.CommandLine;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using CallVault.Cli;
using CallVault.Cli.Commands;
using CallVault.Emulator;
using CallVault.Testing;
using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The reconciliation report end to end, over real HTTP with the emulator and Azurite: a recording delivered by the
/// webhook (stored), one whose downloads keep failing (pending, with time left), one the emulator dead-lettered while
/// the service was down (recovered), and one announced only by a dead-letter blob after ACS's retention (lost) are each
/// listed in their state, lost first, by the API, the CLI and the dashboard (in Chromium).
/// </summary>
public sealed class ReconciliationReportTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-reconcile-").FullName;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly BlobContainerClient _container = new(TestServices.Azurite, "reconcile-e2e-" + Guid.NewGuid().ToString("N")[..12]);
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;
    private ServiceChildProcess _service = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        var settings = ServerUnderTest.SettingsFor(_emulator, _dataFolder, _secret);
        settings["CallVault:Recovery:DeadLetter:ConnectionString"] = TestServices.Azurite;
        settings["CallVault:Recovery:DeadLetter:ContainerName"] = _container.Name;
        settings["CallVault:Recovery:DeadLetter:PollInterval"] = "00:00:01";
        settings["CallVault:Recovery:DeadLetter:LeaseDuration"] = "00:00:10";

        // A failed download waits an hour before its next attempt, so the failing recording stays pending for the test.
        settings["CallVault:Worker:RetryBaseDelay"] = "01:00:00";
        settings["CallVault:Worker:RetryMaxDelay"] = "01:00:00";
        _service = new ServiceChildProcess(settings);
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _admin.Dispose();
        await _emulator.DisposeAsync();
        await _container.DeleteIfExistsAsync();
        Directory.Delete(_dataFolder, recursive: true);
    }

    [Fact]
    public async Task Report_ListsStoredPendingRecoveredAndLost_LostFirst()
    {
        var lost = await RecordAsync(publish: false);
        var pending = await RecordAsync(publish: false);

        // Recovered: made while the service is down, so the emulator gives up and dead-letters the event.
        await _service.StartAsync();
        await SubscribeAsync(new { name = "callvault", endpoint = new Uri(_service.BaseAddress, $"api/events?code={_secret}").AbsoluteUri, maxDeliveryAttempts = 2, deadLetter = new { connectionString = TestServices.Azurite, containerName = _container.Name } });
        await _service.KillAsync();
        var recovered = await RecordAsync(publish: true);
        Assert.True(await _emulator.Context.EventGrid.WaitForIdleAsync(Timeout), "the emulator did not give up on the delivery");
        await _container.CreateIfNotExistsAsync();
        await _container.GetBlobClient("CALLVAULT/2026/3/2/8/late.json").UploadAsync(BinaryData.FromString(new JsonArray(LateEvent(lost)).ToJsonString()), overwrite: true);

        await _service.StartAsync();
        using var client = new HttpClient { BaseAddress = _service.BaseAddress };
        var stored = await RecordAsync(publish: true);
        foreach (var documentId in DocumentIds(pending))
        {
            (await _admin.PostAsJsonAsync("faults", new { documentId, target = "Content", count = 0, fault = new { type = "Status", status = 503 } })).EnsureSuccessStatusCode();
        }

        (await _admin.PostAsync($"recordings/{pending.GetProperty("recordingId").GetString()}/publish", null)).EnsureSuccessStatusCode();

        var expected = new[] { (lost, "lost"), (pending, "pending"), (recovered, "recovered"), (stored, "stored") };
        var now = _emulator.Context.TimeProvider.GetUtcNow();
        var query = $"api/reconciliation?since={Uri.EscapeDataString(now.AddDays(-3).ToString("O"))}&until={Uri.EscapeDataString(now.AddDays(1).ToString("O"))}";
        JsonElement report = default;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async cancellationToken =>
                {
                    report = await client.GetFromJsonAsync<JsonElement>(query, cancellationToken);
                    var states = report.GetProperty("recordings").EnumerateArray().ToDictionary(r => r.GetProperty("recordingId").GetString()!, r => r.GetProperty("state").GetString());
                    return expected.All(e => states.GetValueOrDefault(e.Item1.GetProperty("recordingId").GetString()!) == e.Item2);
                },
                Timeout),
            $"The report did not show every case: {report}");

        var recordings = report.GetProperty("recordings").EnumerateArray().ToList();
        Assert.Equal(["lost", "pending", "recovered", "stored"], recordings.Select(r => r.GetProperty("state").GetString()));
        foreach (var (recording, state) in expected)
        {
            var listed = recordings.Single(r => r.GetProperty("recordingId").GetString() == recording.GetProperty("recordingId").GetString());
            Assert.Equal(DocumentIds(recording).Order(), listed.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("documentId").GetString()!).Order());
            Assert.All(listed.GetProperty("chunks").EnumerateArray(), c => Assert.Equal(state, c.GetProperty("state").GetString()));
        }

        var pendingChunk = recordings.Single(r => r.GetProperty("state").GetString() == "pending").GetProperty("chunks")[0];
        Assert.InRange(pendingChunk.GetProperty("timeLeftSeconds").GetInt64(), 1, 24 * 3600);
        Assert.Contains("Lost", recordings[0].GetProperty("chunks")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.All(recordings.Single(r => r.GetProperty("state").GetString() == "recovered").GetProperty("chunks").EnumerateArray(), c => Assert.True(c.GetProperty("viaDeadLetter").GetBoolean()));
        var totals = report.GetProperty("totals").EnumerateArray().ToList();
        Assert.Equal("lost", totals[0].GetProperty("state").GetString());
        Assert.Equal(DocumentIds(lost).Count, totals[0].GetProperty("chunks").GetInt32());
        Assert.Equal("lost", report.GetProperty("days")[0].GetProperty("totals")[0].GetProperty("state").GetString());

        // The CLI shows the same report: JSON as the API gives it, and a table with the lost chunk first.
        var (jsonCode, json, _) = await RunCliAsync("reconcile", "--since", now.AddDays(-3).ToString("O"), "--until", now.AddDays(1).ToString("O"), "--json");
        Assert.Equal(0, jsonCode);
        Assert.Equal(["lost", "pending", "recovered", "stored"], JsonDocument.Parse(json).RootElement.GetProperty("recordings").EnumerateArray().Select(r => r.GetProperty("state").GetString()));
        var (tableCode, table, _) = await RunCliAsync("reconcile", "--since", now.AddDays(-3).ToString("O"), "--until", now.AddDays(1).ToString("O"));
        Assert.Equal(0, tableCode);
        Assert.Contains($"{DocumentIds(lost).Count} lost", table, StringComparison.Ordinal);
        Assert.True(table.IndexOf("lost", StringComparison.Ordinal) < table.IndexOf("dead-letter", StringComparison.Ordinal));

        // The dashboard's daily summary (reconciliation.js, under the strict CSP) in Chromium: the lost chunks first.
        await using (var browser = await LaunchChromiumAsync())
        {
            var page = await browser.NewPageAsync();
            var violations = new List<string>();
            page.Console += (_, message) => { if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal)) violations.Add(message.Text); };
            await page.GotoAsync(_service.BaseAddress.AbsoluteUri);
            var firstChunk = page.Locator("#reconciliation-chunks tbody tr").First;
            await firstChunk.Locator("td.state", new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^lost$") }).WaitForAsync(new() { Timeout = 20_000 });
            Assert.Contains(lost.GetProperty("recordingId").GetString()!, await firstChunk.InnerTextAsync(), StringComparison.Ordinal);
            var states = await page.Locator("#reconciliation-chunks tbody td.state").AllInnerTextsAsync();
            Assert.Equal([.. Enumerable.Repeat("lost", DocumentIds(lost).Count), .. Enumerable.Repeat("pending", DocumentIds(pending).Count)], states);
            Assert.Equal([DocumentIds(lost).Count.ToString(System.Globalization.CultureInfo.InvariantCulture)], await page.Locator("#reconciliation-days tr.has-lost td.count-lost").AllInnerTextsAsync());
            Assert.Empty(violations);
        }

        using var backwards = await client.GetAsync("api/reconciliation?since=2026-03-03T00:00:00Z&until=2026-03-02T00:00:00Z");
        Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
    }

    private async Task<(int ExitCode, string Output, string Error)> RunCliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await CommandRunner.RunAsync(new RootCommand { ReconcileCommand.Create() }, [.. args, "--server", _service.BaseAddress.AbsoluteUri], output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    private static async Task<IBrowser> LaunchChromiumAsync()
    {
        const string Chromium = "/usr/bin/chromium";
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing. ./eng/test.sh installs Debian's chromium package.");
        }

        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });

        // Playwright's driver goes when the browser does.
        browser.Disconnected += (_, _) => playwright.Dispose();
        return browser;
    }

    private static List<string> DocumentIds(JsonElement recording) =>
        [.. recording.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("documentId").GetString()!)];

    private async Task SubscribeAsync(object spec)
    {
        using var response = await _admin.PostAsJsonAsync("subscriptions", spec);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> RecordAsync(bool publish)
    {
        using var response = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 200_000, chunkSizeLimitBytes = 120_000, publish });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The recording's event as Event Grid would have dead-lettered it a day late, after ACS's retention.</summary>
    private JsonObject LateEvent(JsonElement recording)
    {
        var chunks = new JsonArray([.. recording.GetProperty("chunks").EnumerateArray().Select(c => (JsonNode)new JsonObject
        {
            ["documentId"] = c.GetProperty("documentId").GetString(),
            ["index"] = c.GetProperty("index").GetInt32(),
            ["endReason"] = c.GetProperty("endReason").GetString(),
            ["contentLocation"] = c.GetProperty("contentLocation").GetString(),
            ["metadataLocation"] = c.GetProperty("metadataLocation").GetString(),
            ["deleteLocation"] = c.GetProperty("deleteLocation").GetString(),
        })]);
        var eventTime = _emulator.Context.TimeProvider.GetUtcNow().AddHours(-25).ToString("O");
        return new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["topic"] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/callvault-emulator/providers/microsoft.communication/communicationservices/emulator",
            ["subject"] = recording.GetProperty("subject").GetString(),
            ["eventType"] = "Microsoft.Communication.RecordingFileStatusUpdated",
            ["dataVersion"] = "1.0",
            ["metadataVersion"] = "1",
            ["eventTime"] = eventTime,
            ["data"] = new JsonObject { ["recordingStorageInfo"] = new JsonObject { ["recordingChunks"] = chunks }, ["sessionEndReason"] = "CallEnded" },
            ["deadLetterReason"] = "TimeToLiveExceeded",
            ["deliveryAttempts"] = 12,
            ["lastDeliveryOutcome"] = "SocketError",
            ["lastHttpStatusCode"] = 0,
        };
    }
}

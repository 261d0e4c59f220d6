using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using CallVault.Acs;
using CallVault.Acs.CallAutomation;
using CallVault.Cli;
using CallVault.Cli.Commands;
using CallVault.Emulator;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Bring Your Own Storage end to end: the emulator exports a Call Automation recording into an Azurite container
/// CallVault is configured to read; CallVault indexes it from there without a download request to the ACS storage
/// host, serves it with Range from the container, and <c>callvault verify</c> finds a byte changed in the container.
/// When the export fails, the event's ordinary locations are downloaded as usual.
/// </summary>
public sealed class ExportedRecordingTests : IAsyncLifetime
{
    private const string Alice = "8:acs:6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d_00000001-aaaa-bbbb-cccc-000000000001";
    private readonly BlobContainerClient _container = new(TestServices.Azurite, "byos-e2e-" + Guid.NewGuid().ToString("N")[..12]);
    private AcsEmulator _emulator = null!;
    private readonly SteppedTimeProvider _clock = new();
    private HttpClient _admin = null!;
    private ServiceProvider? _services;

    public async Task InitializeAsync()
    {
        await _container.CreateAsync();
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001, TimeProvider = _clock });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        _admin.Dispose();
        await _emulator.DisposeAsync();
        await _container.DeleteIfExistsAsync();
    }

    /// <summary>Indexed from the container with no request to the storage host, played with Range, and a changed byte found by verify.</summary>
    [Fact]
    public async Task ExportedRecording_IsIndexedFromTheContainer_PlaysWithRange_AndVerifyFindsAChangedByte()
    {
        await using var server = await StartServerAsync(failExports: false);
        var (callId, recordingId) = await RecordAsync(server);

        var stored = await server.WaitForRecordingAsync(callId);

        var expected = Assert.Single(_emulator.Context.Recordings.Find(recordingId)!.Chunks);
        Assert.Empty(_emulator.Context.ObjectRequests);
        var chunk = Assert.Single(stored.GetProperty("chunks").EnumerateArray());
        var media = chunk.GetProperty("media");
        Assert.Equal(expected.Sha256, media.GetProperty("sha256").GetString());
        Assert.Equal(expected.Media.Length, media.GetProperty("length").GetInt64());
        Assert.StartsWith("byos/", media.GetProperty("path").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(server.RecordingsFolder, "*.wav", SearchOption.AllDirectories));

        var key = stored.GetProperty("key").GetString()!;
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/media");
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        using var part = await server.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        var bytes = await part.Content.ReadAsByteArrayAsync();
        var whole = new byte[expected.Media.Length];
        expected.Media.Read(0, whole);
        Assert.Equal(whole[100..200], bytes);

        // The reconciliation report calls it exported: stored from the customer's container, not downloaded from ACS.
        var report = await server.Client.GetFromJsonAsync<JsonElement>("api/reconciliation");
        var reported = Assert.Single(report.GetProperty("recordings").EnumerateArray(), r => r.GetProperty("recordingId").GetString() == recordingId);
        Assert.Equal("exported", reported.GetProperty("state").GetString());
        Assert.Equal("exported", Assert.Single(reported.GetProperty("chunks").EnumerateArray()).GetProperty("state").GetString());

        var (okCode, ok) = await VerifyAsync(server);
        var blob = await SingleMediaBlobAsync();
        var changed = whole.ToArray();
        changed[^1] ^= 0xFF;
        await blob.UploadAsync(BinaryData.FromBytes(changed), overwrite: true);
        var (badCode, bad) = await VerifyAsync(server);

        Assert.Equal(0, okCode);
        Assert.Contains("every size and SHA-256 matches", ok, StringComparison.Ordinal);
        Assert.Equal(1, badCode);
        Assert.Contains($"DIFFERS  {key} chunk 0 media", bad, StringComparison.Ordinal);
    }

    /// <summary>A failed export: the event carries ordinary locations, which are downloaded as usual.</summary>
    [Fact]
    public async Task FailedExport_IsDownloadedFromTheEventsLocations()
    {
        await using var server = await StartServerAsync(failExports: true);
        var (callId, recordingId) = await RecordAsync(server);

        var stored = await server.WaitForRecordingAsync(callId);

        var expected = Assert.Single(_emulator.Context.Recordings.Find(recordingId)!.Chunks);
        var media = Assert.Single(stored.GetProperty("chunks").EnumerateArray()).GetProperty("media");
        Assert.Equal(expected.Sha256, media.GetProperty("sha256").GetString());
        Assert.DoesNotContain("byos/", media.GetProperty("path").GetString(), StringComparison.Ordinal);
        Assert.Contains(_emulator.Context.ObjectRequests, r => r.DocumentId == expected.DocumentId && !r.Metadata);
    }

    private async Task<ServerUnderTest> StartServerAsync(bool failExports)
    {
        using var registered = await _admin.PostAsJsonAsync("external-storage", new { connectionString = TestServices.Azurite, failExports });
        Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        var server = await ServerUnderTest.StartAsync(_emulator, settings =>
        {
            settings["CallVault:Byos:Containers:calls:ContainerUrl"] = _container.Uri.AbsoluteUri;
            settings["CallVault:Byos:Containers:calls:ConnectionString"] = TestServices.Azurite;
        });
        using var subscribed = await _admin.PostAsJsonAsync("subscriptions", new { endpoint = server.WebhookUrl.AbsoluteUri });
        Assert.True(subscribed.IsSuccessStatusCode, await subscribed.Content.ReadAsStringAsync());
        return server;
    }

    private async Task<(string CallId, string RecordingId)> RecordAsync(ServerUnderTest server)
    {
        using var created = await _admin.PostAsJsonAsync("calls", new { participants = new[] { Alice } });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var call = await created.Content.ReadFromJsonAsync<JsonElement>();
        var services = new ServiceCollection();
        services.AddCallRecordingClient(options => options.ConnectionString = _emulator.ConnectionString.ToSecretString());
        _services = services.BuildServiceProvider();
        var client = _services.GetRequiredService<CallRecordingClient>();
        var started = await client.StartAsync(new StartRecordingRequest { ServerCallId = call.GetProperty("serverCallId").GetString(), ExternalStorageContainerUrl = _container.Uri });
        // The recording lasts as long as the emulator's clock ran between start and stop: two seconds, not the few
        // milliseconds the two requests take, so that the media is long enough for the ranged read.
        _clock.Advance(TimeSpan.FromSeconds(2));
        await client.StopAsync(started.RecordingId);
        return (call.GetProperty("callId").GetString()!, started.RecordingId);
    }

    private async Task<BlobClient> SingleMediaBlobAsync()
    {
        var names = new List<string>();
        await foreach (var item in _container.GetBlobsAsync())
        {
            names.Add(item.Name);
        }

        return _container.GetBlobClient(Assert.Single(names, n => n.EndsWith(".wav", StringComparison.Ordinal)));
    }

    private static async Task<(int ExitCode, string Output)> VerifyAsync(ServerUnderTest server)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new RootCommand { VerifyCommand.Create() };
        var exitCode = await CommandRunner.RunAsync(root, ["verify", "--server", server.BaseAddress.AbsoluteUri], output, error);
        return (exitCode, output.ToString() + error.ToString());
    }
}

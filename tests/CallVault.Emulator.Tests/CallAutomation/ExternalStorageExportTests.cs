using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Messaging.EventGrid;
using Azure.Messaging.EventGrid.SystemEvents;
using Azure.Storage.Blobs;
using CallVault.Acs;
using CallVault.Acs.CallAutomation;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Emulator.Tests.CallAutomation;

/// <summary>
/// Bring Your Own Storage in the emulator: a recording started with <c>externalStorage</c> is written into the named
/// container (Azurite) in ACS's published layout, and its <c>RecordingFileStatusUpdated</c> event points there; when
/// the export fails, the event carries ordinary download locations.
/// </summary>
public sealed partial class ExternalStorageExportTests : EmulatorTestBase
{
    private const string Alice = "8:acs:6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d_00000001-aaaa-bbbb-cccc-000000000001";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly BlobContainerClient _container = new(TestServices.Azurite, "byos-" + Guid.NewGuid().ToString("N")[..12]);
    private WebhookRecorder _eventGrid = null!;
    private ServiceProvider? _services;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await _container.CreateAsync();
        _eventGrid = await WebhookRecorder.StartAsync();
        using var subscribed = await Admin.PostAsJsonAsync("subscriptions", new { name = "callvault", endpoint = _eventGrid.Url.AbsoluteUri });
        Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
    }

    public override async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await base.DisposeAsync();
        await _eventGrid.DisposeAsync();
        await _container.DeleteIfExistsAsync();
    }

    /// <summary>The files land in the container in the published layout, byte-identical, and the event points at them.</summary>
    [Fact]
    public async Task Start_WithExternalStorage_WritesThePublishedLayoutAndTheEventPointsIntoTheContainer()
    {
        await RegisterAccountAsync(failExports: false);
        var (serverCallId, callId) = await CreateCallAsync();
        var client = CreateCallRecordingClient();

        var started = await client.StartAsync(new StartRecordingRequest { ServerCallId = serverCallId, ExternalStorageContainerUrl = _container.Uri });
        await client.StopAsync(started.RecordingId);

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => FilesEventFor(started.RecordingId) is not null, Patience));
        var chunk = Assert.Single(FilesEventFor(started.RecordingId)!.RecordingStorageInfo.RecordingChunks);
        var emulated = Assert.Single(Emulator.Context.Recordings.Find(started.RecordingId)!.Chunks);
        var blobs = await BlobsAsync();
        Assert.Equal(2, blobs.Count);
        var metadataBlob = Assert.Single(blobs, b => b.EndsWith($"-acsmetadata.{chunk.DocumentId}.json", StringComparison.Ordinal));
        var mediaBlob = Assert.Single(blobs, b => b.EndsWith($"-audiowav.{chunk.DocumentId}.wav", StringComparison.Ordinal));
        var day = Emulator.Context.Recordings.Find(started.RecordingId)!.StartTime.UtcDateTime.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        var folder = $"{day}/{callId}/{started.RecordingId[..8]}-";
        Assert.StartsWith(folder, metadataBlob, StringComparison.Ordinal);
        Assert.Matches(LayoutPattern(), metadataBlob);
        Assert.Equal(metadataBlob[..metadataBlob.LastIndexOf('/')], mediaBlob[..mediaBlob.LastIndexOf('/')]);
        Assert.StartsWith("0-", metadataBlob[(metadataBlob.LastIndexOf('/') + 1)..], StringComparison.Ordinal);

        var media = (await _container.GetBlobClient(mediaBlob).DownloadContentAsync()).Value.Content.ToArray();
        Assert.Equal(emulated.Sha256, Convert.ToHexStringLower(SHA256.HashData(media)));
        var metadata = JsonDocument.Parse((await _container.GetBlobClient(metadataBlob).DownloadContentAsync()).Value.Content.ToString()).RootElement;
        Assert.Equal(chunk.DocumentId, metadata.GetProperty("chunkDocumentId").GetString());

        Assert.Equal(_container.GetBlobClient(mediaBlob).Uri, new Uri(chunk.ContentLocation));
        Assert.Equal(_container.GetBlobClient(metadataBlob).Uri, new Uri(chunk.MetadataLocation));
        Assert.Null(chunk.DeleteLocation);
        var view = await Admin.GetFromJsonAsync<JsonElement>($"recordings/{Uri.EscapeDataString(started.RecordingId)}");
        Assert.Equal("exported", view.GetProperty("export").GetProperty("state").GetString());
    }

    /// <summary>An export told to fail leaves the container empty and the event carries the usual storage-host locations.</summary>
    [Fact]
    public async Task Start_WithExternalStorageThatFails_TheEventCarriesOrdinaryDownloadLocations()
    {
        await RegisterAccountAsync(failExports: true);
        var (serverCallId, _) = await CreateCallAsync();
        var client = CreateCallRecordingClient();

        var started = await client.StartAsync(new StartRecordingRequest { ServerCallId = serverCallId, ExternalStorageContainerUrl = _container.Uri });
        await client.StopAsync(started.RecordingId);

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => FilesEventFor(started.RecordingId) is not null, Patience));
        var chunk = Assert.Single(FilesEventFor(started.RecordingId)!.RecordingStorageInfo.RecordingChunks);
        Assert.StartsWith(Emulator.StorageBase.AbsoluteUri, chunk.ContentLocation, StringComparison.Ordinal);
        Assert.StartsWith(Emulator.StorageBase.AbsoluteUri, chunk.DeleteLocation, StringComparison.Ordinal);
        Assert.Empty(await BlobsAsync());
        var view = await Admin.GetFromJsonAsync<JsonElement>($"recordings/{Uri.EscapeDataString(started.RecordingId)}");
        Assert.Equal("failed", view.GetProperty("export").GetProperty("state").GetString());
    }

    /// <summary>The admin API never echoes the account's connection string.</summary>
    [Fact]
    public async Task RegisterAccount_AnswersTheAccountUrl_NotTheConnectionString()
    {
        var view = await RegisterAccountAsync(failExports: false);

        Assert.Equal(new BlobServiceClient(TestServices.Azurite).Uri.AbsoluteUri.TrimEnd('/'), view.GetProperty("accountUrl").GetString()!.TrimEnd('/'));
        Assert.DoesNotContain("AccountKey", view.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    [GeneratedRegex(@"^\d{8}/[0-9a-f-]{36}/[A-Za-z0-9_-]{8}-[0-9a-f-]{36}/\d+-acsmetadata\.0-[a-z0-9-]+\.json$")]
    private static partial Regex LayoutPattern();

    private async Task<JsonElement> RegisterAccountAsync(bool failExports)
    {
        using var response = await Admin.PostAsJsonAsync("external-storage", new { connectionString = TestServices.Azurite, failExports });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<(string ServerCallId, string CallId)> CreateCallAsync()
    {
        using var response = await Admin.PostAsJsonAsync("calls", new { participants = new[] { Alice } });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var call = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (call.GetProperty("serverCallId").GetString()!, call.GetProperty("callId").GetString()!);
    }

    private CallRecordingClient CreateCallRecordingClient()
    {
        var services = new ServiceCollection();
        services.AddCallRecordingClient(options => options.ConnectionString = Emulator.ConnectionString.ToSecretString());
        _services = services.BuildServiceProvider();
        return _services.GetRequiredService<CallRecordingClient>();
    }

    private AcsRecordingFileStatusUpdatedEventData? FilesEventFor(string recordingId) =>
        _eventGrid.Notifications
            .SelectMany(n => EventGridEvent.ParseMany(BinaryData.FromString(n.Body)))
            .Where(e => e.EventType == SystemEventNames.AcsRecordingFileStatusUpdated && e.Subject.EndsWith("/recordingId/" + recordingId, StringComparison.Ordinal))
            .Select(e => e.TryGetSystemEventData(out var data) ? (AcsRecordingFileStatusUpdatedEventData)data : null)
            .FirstOrDefault();

    private async Task<List<string>> BlobsAsync()
    {
        var names = new List<string>();
        await foreach (var item in _container.GetBlobsAsync())
        {
            names.Add(item.Name);
        }

        return names;
    }
}

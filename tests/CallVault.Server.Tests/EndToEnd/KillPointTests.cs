using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CallVault.Emulator;
using CallVault.Emulator.EventGrid;
using CallVault.Emulator.Storage;
using CallVault.Testing;
using Xunit.Abstractions;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The service as a real process, killed with SIGKILL at an exact moment by a crash point (during the webhook's
/// commit, between a chunk's fsync and its rename, between a media commit and its bookkeeping, just before the commit
/// that records a chunk's files and marks it stored, during a manifest write, after staging a block on Blob Storage)
/// and started again on the same data: every chunk ends up stored once and byte-identical, and the emulator's count of
/// media bytes sent shows that nothing was downloaded twice.
/// </summary>
public sealed class KillPointTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-killpoint-").FullName;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;
    private ServiceChildProcess _service = null!;
    private BlobContainerClient? _container;

    private string RecordingsFolder => Path.Combine(_dataFolder, "recordings");

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        _admin.Dispose();
        await _emulator.DisposeAsync();
        if (_container is not null)
        {
            await _container.DeleteIfExistsAsync();
        }

        Directory.Delete(_dataFolder, recursive: true);
    }

    private ServiceChildProcess CreateService(Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = ServerUnderTest.SettingsFor(_emulator, _dataFolder, _secret);
        settings["CallVault:Acs:Download:ParallelConnections"] = "1";
        settings["CallVault:Worker:Concurrency"] = "1";
        configure?.Invoke(settings);
        return _service = new ServiceChildProcess(settings);
    }

    private async Task SubscribeAsync()
    {
        using var subscribe = await _admin.PostAsJsonAsync("subscriptions", new { endpoint = new Uri(_service.BaseAddress, $"api/events?code={_secret}").AbsoluteUri });
        Assert.True(subscribe.IsSuccessStatusCode, await subscribe.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> RecordAsync(long sizeBytes, long chunkSizeLimitBytes)
    {
        using var response = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes, chunkSizeLimitBytes });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Waits until the API shows the recording stored, and returns its detail view.</summary>
    private async Task<JsonElement> WaitUntilStoredAsync(JsonElement recording)
    {
        using var client = new HttpClient { BaseAddress = _service.BaseAddress };
        var callId = recording.GetProperty("callId").GetString();
        JsonElement[]? list = null;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                () =>
                {
                    list = client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}").GetAwaiter().GetResult();
                    return list is [var r] && r.GetProperty("status").GetString() == "stored";
                },
                Timeout),
            $"The recording was not stored after the restart: {JsonSerializer.Serialize(list)}");
        return (await client.GetFromJsonAsync<JsonElement>($"api/recordings/{list![0].GetProperty("key").GetString()}"))!;
    }

    private static IEnumerable<(string DocumentId, string Sha256, long Size)> Chunks(JsonElement recording) =>
        recording.GetProperty("chunks").EnumerateArray().Select(c => (c.GetProperty("documentId").GetString()!, c.GetProperty("sha256").GetString()!, c.GetProperty("sizeBytes").GetInt64()));

    /// <summary>Every chunk's media on disk is byte-identical, once, with nothing half-written left beside it.</summary>
    private async Task AssertStoredOnceOnDiskAsync(JsonElement recording, JsonElement stored)
    {
        var expected = Chunks(recording).ToList();
        var chunks = stored.GetProperty("chunks").EnumerateArray().ToList();
        Assert.Equal(expected.Count, chunks.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var path = Path.Combine(RecordingsFolder, chunks[i].GetProperty("media").GetProperty("path").GetString()!);
            Assert.Equal(expected[i].Sha256, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))));
            Assert.Equal(expected[i].Sha256, chunks[i].GetProperty("media").GetProperty("sha256").GetString());
        }

        // The manifest is rewritten once more after the last chunk is recorded as stored, through a temporary file
        // that lives for a moment: wait for temporaries to go. One left behind by the crash never goes, and fails.
        static bool HalfWritten(string file) => file.EndsWith(".partial", StringComparison.Ordinal) || file.EndsWith(".tmp", StringComparison.Ordinal);
        List<string> files = [];
        var settled = await WebhookRecorder.WaitUntilAsync(
            () => !(files = Directory.EnumerateFiles(RecordingsFolder, "*", SearchOption.AllDirectories).ToList()).Any(HalfWritten),
            TimeSpan.FromSeconds(10));
        Assert.True(settled, $"Half-written files were left: {string.Join(", ", files.Where(HalfWritten))}");
        Assert.Equal(expected.Count, files.Count(f => Path.GetFileName(f).StartsWith("chunk-", StringComparison.Ordinal) && !f.EndsWith(".metadata.json", StringComparison.Ordinal)));
    }

    /// <summary>Measures bytes sent per chunk, writes the figures to the test output, and fails above 1 % unexplained.</summary>
    private async Task<ByteExcessReport> AssertDownloadedOnceAsync(JsonElement recording, IReadOnlyDictionary<string, DateTimeOffset>? crashes = null)
    {
        var report = await ByteExcessReport.MeasureAsync(_emulator.Context, Chunks(recording).Select(c => c.DocumentId), crashes, Timeout);
        output.WriteLine($"bytes sent: {report}");
        Assert.Empty(report.NeverSent);
        Assert.True(report.IsWithin(0.01), $"A chunk was downloaded more than once: {report}");
        return report;
    }

    [Theory]
    [InlineData("webhook.before-commit")]
    [InlineData("webhook.commit")]
    public async Task KilledDuringTheWebhooksCommit_EventGridRetries_EveryChunkStoredOnce(string crashPoint)
    {
        CreateService();
        await _service.StartAsync(crashAt: crashPoint);
        await SubscribeAsync();

        var recording = await RecordAsync(600_000, 300_000);
        await _service.WaitForCrashAsync(crashPoint, Timeout);
        await _service.StartAsync();
        var stored = await WaitUntilStoredAsync(recording);

        await AssertStoredOnceOnDiskAsync(recording, stored);

        // The delivery that was cut by the kill failed and Event Grid retried it against the restarted service.
        Assert.Contains(_emulator.Context.EventGrid.Attempts, a => a.Outcome != DeliveryOutcome.Delivered);
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(() => _emulator.Context.EventGrid.Attempts.Any(a => a.Outcome == DeliveryOutcome.Delivered && a.Attempt > 1), Timeout),
            "Event Grid did not redeliver the events to the restarted service.");

        // Exactly once by bytes: the kill came before any download, so every chunk was sent exactly once.
        var report = await AssertDownloadedOnceAsync(recording);
        Assert.Equal(report.TotalSize, report.TotalSent);
    }

    [Fact]
    public async Task KilledBetweenFsyncAndRename_RestartStoresTheChunkOnceWithoutStrayFiles()
    {
        CreateService();
        await _service.StartAsync(crashAt: "disk.before-rename");
        await SubscribeAsync();

        var recording = await RecordAsync(600_000, 10_000_000);
        await _service.WaitForCrashAsync("disk.before-rename", Timeout);

        // The media is complete and fsynced under its .partial name; the final name does not exist yet.
        var partial = Assert.Single(Directory.EnumerateFiles(RecordingsFolder, "*.partial", SearchOption.AllDirectories));
        Assert.Equal(600_000, new FileInfo(partial).Length);
        Assert.False(File.Exists(partial[..^".partial".Length]));

        await _service.StartAsync();
        var stored = await WaitUntilStoredAsync(recording);

        await AssertStoredOnceOnDiskAsync(recording, stored);

        // The fsynced file was resumed at its end: not one media byte was sent again.
        var report = await AssertDownloadedOnceAsync(recording);
        Assert.Equal(report.TotalSize, report.TotalSent);
    }

    [Theory]
    [InlineData("worker.after-media-commit")]
    [InlineData("worker.before-complete")] // metadata and media are stored and the manifest written; one commit records them and marks the chunk stored
    public async Task KilledAfterTheMediaCommitBeforeItIsRecorded_RestartAdoptsTheStoredMediaWithoutASecondDownload(string crashPoint)
    {
        // Large enough that the tail probe (64 KiB) is well under 1 % of the object.
        const long Size = 10_000_000;
        const long TailProbeBytes = Acs.Recordings.AcsRecordingClient.DefaultTailBytes;
        CreateService();
        await _service.StartAsync(crashAt: crashPoint);
        await SubscribeAsync();

        var recording = await RecordAsync(Size, 20_000_000);
        var (documentId, _, _) = Chunks(recording).Single();
        await _service.WaitForCrashAsync(crashPoint, Timeout);

        // The media is committed under its final name and the partial is gone: only the job does not know it yet.
        var media = Assert.Single(Directory.EnumerateFiles(RecordingsFolder, "chunk-*", SearchOption.AllDirectories), f => !f.EndsWith(".metadata.json", StringComparison.Ordinal));
        Assert.Equal(Size, new FileInfo(media).Length);
        Assert.Empty(Directory.EnumerateFiles(RecordingsFolder, "*.partial", SearchOption.AllDirectories));
        var killedAt = _emulator.Context.TimeProvider.GetUtcNow();

        await _service.StartAsync();
        var stored = await WaitUntilStoredAsync(recording);

        await AssertStoredOnceOnDiskAsync(recording, stored);

        // After the restart only the tail probe was sent for the media, not the object again.
        var afterRestart = _emulator.Context.ObjectRequests.Where(r => r.DocumentId == documentId && !r.Metadata && r.Started > killedAt).ToList();
        Assert.InRange(afterRestart.Sum(r => r.BytesSent), 1, TailProbeBytes);
        var report = await AssertDownloadedOnceAsync(recording);
        Assert.InRange(report.TotalExcess, 0, TailProbeBytes);
    }

    [Theory]
    [InlineData("manifest.write@1")] // the write before the first chunk's job is completed
    [InlineData("manifest.write@2")] // the write after it is completed
    public async Task KilledDuringAManifestWrite_AfterRestartTheManifestIsCompleteValidJson(string crashAt)
    {
        CreateService();
        await _service.StartAsync(crashAt: crashAt);
        await SubscribeAsync();

        var recording = await RecordAsync(600_000, 300_000);
        await _service.WaitForCrashAsync("manifest.write", Timeout);
        await _service.StartAsync();
        var stored = await WaitUntilStoredAsync(recording);

        await AssertStoredOnceOnDiskAsync(recording, stored);

        // The manifest is rewritten after each completion, so it may trail the database for a moment: wait for it.
        var expected = Chunks(recording).ToList();
        var manifestPath = Assert.Single(Directory.EnumerateFiles(RecordingsFolder, "manifest.json", SearchOption.AllDirectories));
        JsonElement? manifest = null;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                () =>
                {
                    manifest = JsonDocument.Parse(File.ReadAllBytes(manifestPath)).RootElement.Clone();
                    return manifest.Value.GetProperty("status").GetString() == "stored";
                },
                Timeout),
            $"The manifest stayed incomplete: {manifest}");
        var listed = manifest!.Value.GetProperty("chunks").EnumerateArray().ToList();
        Assert.Equal(expected.Select(c => c.DocumentId), listed.Select(c => c.GetProperty("documentId").GetString()));
        Assert.Equal(expected.Select(c => c.Sha256), listed.Select(c => c.GetProperty("media").GetProperty("sha256").GetString()));
        Assert.All(listed, c => Assert.Equal("stored", c.GetProperty("state").GetString(), ignoreCase: true));

        if (crashAt == "manifest.write@2")
        {
            // The media was committed and recorded before this write: nothing was downloaded again.
            var report = await AssertDownloadedOnceAsync(recording);
            Assert.Equal(report.TotalSize, report.TotalSent);
        }
        else
        {
            // The first chunk's files are recorded by the commit that marks it stored, after this write: the retry
            // takes its media over after one tail request (at most 64 KiB), without downloading the object again.
            var report = await ByteExcessReport.MeasureAsync(_emulator.Context, Chunks(recording).Select(c => c.DocumentId), null, Timeout);
            output.WriteLine($"bytes sent: {report}");
            Assert.Empty(report.NeverSent);
            Assert.InRange(report.TotalExcess, 0, Acs.Recordings.AcsRecordingClient.DefaultTailBytes);
        }
    }

    [Fact]
    public async Task KilledMidUploadToBlobStorage_RestartResumesAfterTheStagedBlocks()
    {
        const int BlockSize = 256 * 1024;
        const long Size = 2_000_000;
        _container = new BlobServiceClient(TestServices.Azurite).GetBlobContainerClient("killpoint-" + Guid.NewGuid().ToString("N")[..16]);
        CreateService(settings =>
        {
            settings["CallVault:Storage:Provider"] = "AzureBlob";
            settings["CallVault:Storage:AzureBlob:ConnectionString"] = TestServices.Azurite;
            settings["CallVault:Storage:AzureBlob:ContainerName"] = _container.Name;
            settings["CallVault:Storage:AzureBlob:BlockSizeBytes"] = BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _service.StartAsync(crashAt: "blob.after-stage@3");
        output.WriteLine($"{clock.Elapsed}: started");
        await SubscribeAsync();

        // 1 MB/s: the download is still under way when the third block is staged, so the kill is mid-download.
        (await _admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 1_000_000 })).EnsureSuccessStatusCode();
        var recording = await RecordAsync(Size, 10_000_000);
        var (documentId, sha256, _) = Chunks(recording).Single();
        await _service.WaitForCrashAsync("blob.after-stage", Timeout);
        output.WriteLine($"{clock.Elapsed}: killed");
        var killedAt = _emulator.Context.TimeProvider.GetUtcNow();
        var sentBeforeRestart = _emulator.Context.MediaTransfers.Find(documentId)!.MediaBytesSent;

        await _service.StartAsync();
        output.WriteLine($"{clock.Elapsed}: restarted");
        var stored = await WaitUntilStoredAsync(recording);
        output.WriteLine($"{clock.Elapsed}: stored");

        var path = stored.GetProperty("chunks")[0].GetProperty("media").GetProperty("path").GetString()!;
        var blob = _container.GetBlockBlobClient(path);
        await using (var content = await blob.OpenReadAsync())
        {
            Assert.Equal(sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(content)));
        }

        var blocks = (await blob.GetBlockListAsync(BlockListTypes.All)).Value;
        Assert.Equal((int)((Size + BlockSize - 1) / BlockSize), blocks.CommittedBlocks.Count());
        Assert.Empty(blocks.UncommittedBlocks);

        // Resumed after the three staged blocks: after the restart exactly the rest of the object was sent.
        var afterRestart = _emulator.Context.ObjectRequests.Where(r => r.DocumentId == documentId && !r.Metadata && r.Started > killedAt).ToList();
        Assert.Equal(Size - (3 * BlockSize), afterRestart.Sum(r => r.BytesSent));
        var report = await AssertDownloadedOnceAsync(recording, new Dictionary<string, DateTimeOffset> { [documentId] = killedAt });
        output.WriteLine($"sent before the kill {sentBeforeRestart:N0}, after the restart {afterRestart.Sum(r => r.BytesSent):N0}, object {Size:N0}");
        Assert.True(report.TotalSent < Size * 3 / 2, $"{report.TotalSent} bytes were sent for a {Size}-byte object: the restart did not resume from the staged blocks.");
    }
}

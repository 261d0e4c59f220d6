using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using CallVault.Emulator;
using CallVault.Emulator.Storage;
using CallVault.Testing;
using Xunit.Abstractions;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Dead-letter recovery end to end, over real HTTP: the service is down while calls are recorded, the emulator gives
/// up and dead-letters the events into Azurite (in both schemas, one subscription each), and the service, killed once
/// between committing a blob's events and marking the blob done, recovers every chunk byte-identical, once, marked
/// recovered. Beside them in the container: an event that is not a recording event, a malformed blob, and an event
/// past ACS's retention (reported as lost, never fetched). A later pass changes nothing.
/// </summary>
public sealed class DeadLetterRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-deadletter-").FullName;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly BlobContainerClient _container = new(TestServices.Azurite, "deadletter-e2e-" + Guid.NewGuid().ToString("N")[..12]);
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
    public async Task ServiceDownWhileRecording_EventsDeadLettered_RecoveredOnceEach_EvenAfterAKillBeforeTheBlobIsMarkedDone()
    {
        // A recording whose only announcement will be a dead-letter blob written after ACS's retention ran out.
        var expired = await RecordAsync();

        await _service.StartAsync();
        await SubscribeAsync(new { name = "callvault", endpoint = Webhook(), maxDeliveryAttempts = 2, deadLetter = Destination() });
        await SubscribeAsync(new { name = "callvault-ce", endpoint = Webhook(), schema = "CloudEvents", maxDeliveryAttempts = 2, deadLetter = Destination() });
        await _service.KillAsync();

        var recordings = new[] { await RecordAsync(), await RecordAsync() };
        Assert.True(await _emulator.Context.EventGrid.WaitForIdleAsync(Timeout), "the emulator did not give up on the deliveries");
        var deadLettered = _emulator.Context.EventGrid.DeadLetters;
        Assert.Equal(4, deadLettered.Count);
        Assert.All(deadLettered, d => Assert.NotNull(d.BlobName));

        await UploadAsync("CALLVAULT/2026/3/3/9/other-events.json", new JsonArray(OtherEvent()).ToJsonString());
        await UploadAsync("CALLVAULT/2026/3/3/9/broken.json", "[{\"id\": \"truncated");
        await UploadAsync("CALLVAULT/2026/3/2/8/late.json", new JsonArray(LateEvent(expired)).ToJsonString());
        var blobCount = deadLettered.Count + 3;

        // Killed right after the first blob's events are committed, before the blob is marked done.
        await _service.StartAsync(crashAt: "recovery.after-commit", waitUntilLive: false);
        await _service.WaitForCrashAsync("recovery.after-commit", Timeout);
        var crashedAt = _emulator.Context.TimeProvider.GetUtcNow();
        await _service.StartAsync();
        using var client = new HttpClient { BaseAddress = _service.BaseAddress };

        JsonElement status = default;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async cancellationToken =>
                {
                    status = await client.GetFromJsonAsync<JsonElement>("api/recovery/dead-letters", cancellationToken);
                    return status.GetProperty("blobs").GetArrayLength() == blobCount;
                },
                Timeout),
            $"Not every dead-letter blob was done: {status}");

        foreach (var recording in recordings)
        {
            var stored = await WaitUntilStoredAsync(client, recording);
            var expected = recording.GetProperty("chunks").EnumerateArray().ToList();
            var chunks = stored.GetProperty("chunks").EnumerateArray().ToList();
            Assert.Equal(expected.Count, chunks.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                var path = Path.Combine(_dataFolder, "recordings", chunks[i].GetProperty("media").GetProperty("path").GetString()!);
                Assert.Equal(expected[i].GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))));
                Assert.Equal("recovered", chunks[i].GetProperty("deadLetter").GetString());
                Assert.True(chunks[i].GetProperty("acsSecondsLeft").GetInt64() > 0);
            }
        }

        var recoveredIds = recordings.SelectMany(r => r.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("documentId").GetString()!)).ToList();
        // The killed process may have begun a download of a chunk it had just committed; bytes sent to it are explained.
        var crashes = recoveredIds.ToDictionary(id => id, _ => crashedAt);
        var report = await ByteExcessReport.MeasureAsync(_emulator.Context, recoveredIds, crashes, Timeout);
        output.WriteLine($"bytes sent: {report}");
        Assert.Empty(report.NeverSent);
        Assert.True(report.IsWithin(0.01), $"A chunk was downloaded more than once: {report}");

        // The late event: lost, with its ids, never requested from ACS.
        var expiredIds = expired.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("documentId").GetString()!).ToList();
        var lost = await client.GetFromJsonAsync<JsonElement>("api/recovery/lost");
        Assert.Equal(expiredIds.Count, lost.GetProperty("total").GetInt64());
        Assert.All(lost.GetProperty("chunks").EnumerateArray(), c => Assert.Equal(expired.GetProperty("recordingId").GetString(), c.GetProperty("recordingId").GetString()));
        Assert.Equal(expiredIds.Order(), lost.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("documentId").GetString()!).Order());
        Assert.DoesNotContain(_emulator.Context.ObjectRequests, r => expiredIds.Contains(r.DocumentId));

        // The other event was skipped; the malformed blob is a rejected event with its reason.
        var blobs = status.GetProperty("blobs").EnumerateArray().ToList();
        Assert.Equal(1, blobs.Single(b => b.GetProperty("name").GetString()!.EndsWith("other-events.json", StringComparison.Ordinal)).GetProperty("eventsSkipped").GetInt64());
        Assert.Contains("not valid JSON", blobs.Single(b => b.GetProperty("name").GetString()!.EndsWith("broken.json", StringComparison.Ordinal)).GetProperty("rejectedReason").GetString(), StringComparison.Ordinal);
        var rejected = await client.GetFromJsonAsync<JsonElement>("api/events/rejected");
        Assert.Equal(1, rejected.GetProperty("total").GetInt64());

        // Another pass over the same blobs changes nothing.
        var before = await SnapshotAsync(client);
        var passBefore = status.GetProperty("lastPassAt").GetDateTimeOffset();
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async cancellationToken =>
                {
                    var now = await client.GetFromJsonAsync<JsonElement>("api/recovery/dead-letters", cancellationToken);
                    return now.GetProperty("lastPassAt").GetDateTimeOffset() > passBefore.AddSeconds(1);
                },
                Timeout),
            "No later recovery pass ran.");
        Assert.Equal(before, await SnapshotAsync(client));
        Assert.Equal(report.ToString(), (await ByteExcessReport.MeasureAsync(_emulator.Context, recoveredIds, crashes, Timeout)).ToString());
    }

    /// <summary>What a repeated pass must leave alone: chunk counts by state, blobs done, recovered and lost chunks, rejected events.</summary>
    private static async Task<string> SnapshotAsync(HttpClient client)
    {
        var jobs = await client.GetFromJsonAsync<JsonElement>("api/jobs");
        var status = await client.GetFromJsonAsync<JsonElement>("api/recovery/dead-letters");
        var rejected = await client.GetFromJsonAsync<JsonElement>("api/events/rejected");
        var blobs = string.Join(';', status.GetProperty("blobs").EnumerateArray().Select(b => $"{b.GetProperty("name")}@{b.GetProperty("doneAt")}").Order());
        return $"{jobs.GetProperty("byState")} | {status.GetProperty("recoveredChunks")} recovered, {status.GetProperty("lostChunks")} lost | {blobs} | {rejected.GetProperty("total")} rejected";
    }

    private string Webhook() => new Uri(_service.BaseAddress, $"api/events?code={_secret}").AbsoluteUri;

    private object Destination() => new { connectionString = TestServices.Azurite, containerName = _container.Name };

    private async Task UploadAsync(string name, string content)
    {
        await _container.CreateIfNotExistsAsync();
        await _container.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), overwrite: true);
    }

    private async Task SubscribeAsync(object spec)
    {
        using var response = await _admin.PostAsJsonAsync("subscriptions", spec);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> RecordAsync()
    {
        using var response = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 300_000, chunkSizeLimitBytes = 120_000 });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<JsonElement> WaitUntilStoredAsync(HttpClient client, JsonElement recording)
    {
        var callId = recording.GetProperty("callId").GetString();
        JsonElement[]? list = null;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async cancellationToken =>
                {
                    list = await client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}", cancellationToken);
                    return list is [var r] && r.GetProperty("status").GetString() == "stored";
                },
                Timeout),
            $"The recording was not stored: {JsonSerializer.Serialize(list)}");
        return await client.GetFromJsonAsync<JsonElement>($"api/recordings/{list![0].GetProperty("key").GetString()}");
    }

    private JsonObject OtherEvent() => new()
    {
        ["id"] = Guid.NewGuid().ToString(),
        ["topic"] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/callvault-emulator/providers/microsoft.communication/communicationservices/emulator",
        ["subject"] = "/phonenumber/15555550123",
        ["eventType"] = "Microsoft.Communication.SMSReceived",
        ["dataVersion"] = "1.0",
        ["metadataVersion"] = "1",
        ["eventTime"] = _emulator.Context.TimeProvider.GetUtcNow().ToString("O"),
        ["data"] = new JsonObject { ["message"] = "not a recording" },
        ["deadLetterReason"] = "UndeliverableDueToHttpBadRequest",
        ["deliveryAttempts"] = 1,
        ["lastDeliveryOutcome"] = "BadRequest",
        ["lastHttpStatusCode"] = 400,
    };

    /// <summary>The recording's event as Event Grid would have dead-lettered it a day late.</summary>
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
            ["publishTime"] = eventTime,
            ["lastDeliveryAttemptTime"] = _emulator.Context.TimeProvider.GetUtcNow().AddMinutes(-6).ToString("O"),
        };
    }
}

using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The whole pipeline over real HTTP: the emulator records calls and delivers Event Grid events to the service's
/// webhook; the service downloads every chunk and stores it. Every stored file is checked against the SHA-256 the
/// emulator advertises.
/// </summary>
public sealed class PipelineTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _emulator.DisposeAsync();
    }

    private async Task SubscribeAsync(ServerUnderTest server, string schema = "EventGrid")
    {
        using var response = await _admin.PostAsJsonAsync("subscriptions", new { name = "callvault", endpoint = server.WebhookUrl.AbsoluteUri, schema });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Equal("Active", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
    }

    private async Task<JsonElement> RecordAsync(object spec)
    {
        using var response = await _admin.PostAsJsonAsync("recordings", spec);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Whether <c>GET /api/jobs</c> shows no chunk waiting for or in a download.</summary>
    private static bool NothingQueued(JsonElement jobs)
    {
        var byState = jobs.GetProperty("byState");
        return new[] { "Pending", "Leased" }.All(state => !byState.TryGetProperty(state, out var count) || count.GetInt64() == 0);
    }

    /// <summary>Every chunk the emulator recorded is on disk, byte-identical, listed in the manifest.</summary>
    private static async Task AssertStoredIdenticalAsync(ServerUnderTest server, JsonElement recording, JsonElement stored)
    {
        var expected = recording.GetProperty("chunks").EnumerateArray().ToList();
        var chunks = stored.GetProperty("chunks").EnumerateArray().ToList();
        Assert.Equal(expected.Count, chunks.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].GetProperty("documentId").GetString(), chunks[i].GetProperty("documentId").GetString());
            Assert.Equal(i, chunks[i].GetProperty("index").GetInt64());
            var media = chunks[i].GetProperty("media");
            var path = Path.Combine(server.RecordingsFolder, media.GetProperty("path").GetString()!);
            var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
            Assert.Equal(expected[i].GetProperty("sha256").GetString(), sha);
            Assert.Equal(sha, media.GetProperty("sha256").GetString());
            Assert.Equal(expected[i].GetProperty("sizeBytes").GetInt64(), media.GetProperty("length").GetInt64());
            Assert.True(File.Exists(Path.Combine(server.RecordingsFolder, chunks[i].GetProperty("metadata").GetProperty("path").GetString()!)));
        }

        // The manifest is rewritten right after each chunk is recorded as stored, so it may trail the API briefly.
        var folder = Path.GetDirectoryName(Path.Combine(server.RecordingsFolder, chunks[0].GetProperty("media").GetProperty("path").GetString()!))!;
        JsonElement Manifest() => JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json"))).RootElement;
        Assert.True(
            await CallVault.Testing.WebhookRecorder.WaitUntilAsync(() => Manifest().GetProperty("status").GetString() == "stored", TimeSpan.FromSeconds(10)),
            "The manifest never said the recording was stored.");
        Assert.Equal(expected.Count, Manifest().GetProperty("chunks").GetArrayLength());
        Assert.Empty(Directory.GetFiles(server.RecordingsFolder, "*.partial", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task EventGridSchema_ThreeChunkRecording_IsStoredByteIdenticalWithManifest()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator);
        await SubscribeAsync(server);
        string[] participants = ["8:acs:agent", "4:+14255550123", "8:acs:supervisor"];

        var recording = await RecordAsync(new { durationSeconds = 6, channelType = "unmixed", participants, chunkSizeLimitBytes = 250_000 });

        var stored = await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        Assert.Equal(3, recording.GetProperty("chunks").GetArrayLength());
        await AssertStoredIdenticalAsync(server, recording, stored);
        Assert.Equal(participants, stored.GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("participantId").GetString()));
        Assert.Equal([0, 1, 2], stored.GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("channel").GetInt32()));
        Assert.Equal(recording.GetProperty("recordingId").GetString(), stored.GetProperty("recordingId").GetString());
    }

    [Fact]
    public async Task CloudEventsSchema_RecordingIsStored()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator);
        await SubscribeAsync(server, "CloudEvents");

        var recording = await RecordAsync(new { durationSeconds = 2 });

        await AssertStoredIdenticalAsync(server, recording, await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!));
    }

    /// <summary>Each chunk announced twice, last chunk first, and the whole recording published again: each is fetched once.</summary>
    [Fact]
    public async Task DuplicateAndOutOfOrderDeliveries_StoreEachChunkOnce()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator);
        await SubscribeAsync(server);

        var recording = await RecordAsync(new
        {
            media = "synthetic",
            sizeBytes = 600_000,
            chunkSizeLimitBytes = 200_000,
            delivery = new { eventPerChunk = true, reverseOrder = true, duplicate = true },
        });
        var stored = await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        (await _admin.PostAsync($"recordings/{recording.GetProperty("recordingId").GetString()}/publish?newEventIds=true", null)).EnsureSuccessStatusCode();
        Assert.True(await _emulator.Context.EventGrid.WaitForIdleAsync(TimeSpan.FromSeconds(20)));
        // The webhook answers after its commit, so every delivery is in the job store by now. A chunk queued again by
        // one of them stays Pending or Leased until its second download ends; once none is, the bytes sent are final.
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(async ct => NothingQueued(await server.Client.GetFromJsonAsync<JsonElement>("api/jobs", ct)), TimeSpan.FromSeconds(20)),
            "Chunks stayed queued after every delivery was answered.");

        await AssertStoredIdenticalAsync(server, recording, stored);
        var metadataBytes = _emulator.Context.Recordings.Find(recording.GetProperty("recordingId").GetString()!)!.Chunks.Sum(c => (long)c.Metadata.Length);
        Assert.Equal(600_000 + metadataBytes, _emulator.Context.BytesSent);
        // 3 chunks × 2 copies, then the same again with new event ids: 12 deliveries, each chunk still fetched once.
        Assert.Equal(12, _emulator.Context.EventGrid.Attempts.Count(a => a.Outcome == Emulator.EventGrid.DeliveryOutcome.Delivered));
    }

    [Fact]
    public async Task Preview2021Event_WithDocumentIdsOnly_IsFetchedFromTheEndpoint()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator);
        await SubscribeAsync(server);

        var recording = await RecordAsync(new { durationSeconds = 2, eventShape = "preview2021" });

        await AssertStoredIdenticalAsync(server, recording, await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!));
    }

    [Fact]
    public async Task DownloadFaults_ResetsStallsAndErrors_StillEndByteIdentical()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator, s => s["CallVault:Acs:Download:ParallelConnections"] = "1");
        await SubscribeAsync(server);
        foreach (var fault in new object[]
        {
            new { target = "Content", fault = new { type = "Reset", afterBytes = 300_000 } },
            new { target = "Content", fault = new { type = "Status", status = 503, retryAfterSeconds = 0 } },
            new { target = "Content", fault = new { type = "EmptyOk" } },
            new { target = "Content", fault = new { type = "Stall", afterBytes = 100_000 } },
            new { target = "Metadata", fault = new { type = "Status", status = 500 } },
            new { target = "Content", fault = new { type = "Html", status = 502 } },
        })
        {
            (await _admin.PostAsJsonAsync("faults", fault)).EnsureSuccessStatusCode();
        }

        var recording = await RecordAsync(new { media = "synthetic", sizeBytes = 1_500_000 });

        await AssertStoredIdenticalAsync(server, recording, await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!, timeout: TimeSpan.FromSeconds(60)));
        Assert.Empty(await _admin.GetFromJsonAsync<JsonElement[]>("faults") ?? []);
    }

    [Fact]
    public async Task DeleteAfterDownload_DeletesFromAcsOnlyOnceStored()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator, s => s["CallVault:DeleteAfterDownload"] = "true");
        await SubscribeAsync(server);

        var recording = await RecordAsync(new { durationSeconds = 4, chunkSizeLimitBytes = 70_000 });
        var stored = await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);

        await AssertStoredIdenticalAsync(server, recording, stored);
        Assert.All(stored.GetProperty("chunks").EnumerateArray(), c => Assert.NotEqual(JsonValueKind.Null, c.GetProperty("deletedFromAcsAt").ValueKind));
        var after = await _admin.GetFromJsonAsync<JsonElement>($"recordings/{recording.GetProperty("recordingId").GetString()}");
        Assert.All(after.GetProperty("chunks").EnumerateArray(), c => Assert.True(c.GetProperty("deleted").GetBoolean()));
    }

    /// <summary>
    /// An event whose delete location names another recording's object (on an allowed host): the chunk is stored, the
    /// other object is not deleted, and the stored chunk says why it was not deleted from ACS.
    /// </summary>
    [Fact]
    public async Task DeleteAfterDownload_DeleteLocationOfAnotherObject_DeletesNothingAndSaysWhy()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator, s => s["CallVault:DeleteAfterDownload"] = "true");
        var target = await RecordAsync(new { durationSeconds = 1, publish = false });
        var victim = await RecordAsync(new { durationSeconds = 1, publish = false });
        var chunk = target.GetProperty("chunks")[0];
        var victimChunk = victim.GetProperty("chunks")[0];
        var now = TimeProvider.System.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var body = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["topic"] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/callvault-emulator/providers/microsoft.communication/communicationservices/emulator",
            ["subject"] = target.GetProperty("subject").GetString(),
            ["data"] = new System.Text.Json.Nodes.JsonObject
            {
                ["recordingStorageInfo"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["recordingChunks"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                    {
                        ["documentId"] = chunk.GetProperty("documentId").GetString(),
                        ["index"] = 0,
                        ["endReason"] = "SessionEnded",
                        ["contentLocation"] = chunk.GetProperty("contentLocation").GetString(),
                        ["metadataLocation"] = chunk.GetProperty("metadataLocation").GetString(),
                        ["deleteLocation"] = victimChunk.GetProperty("deleteLocation").GetString(),
                    }),
                },
                ["recordingStartTime"] = now,
                ["recordingDurationMs"] = target.GetProperty("durationMs").GetInt64(),
                ["recordingContentType"] = "Audio",
                ["recordingChannelType"] = "Mixed",
                ["recordingFormatType"] = "Wav",
                ["sessionEndReason"] = "CallEnded",
            },
            ["eventType"] = "Microsoft.Communication.RecordingFileStatusUpdated",
            ["dataVersion"] = "1.0",
            ["metadataVersion"] = "1",
            ["eventTime"] = now,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, server.WebhookUrl) { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("aeg-event-type", "Notification");
        using (var client = new HttpClient())
        using (var response = await client.SendAsync(request))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var stored = (await server.WaitForRecordingAsync(target.GetProperty("callId").GetString()!)).GetProperty("chunks")[0];

        Assert.Equal(JsonValueKind.Null, stored.GetProperty("deletedFromAcsAt").ValueKind);
        Assert.Contains(victimChunk.GetProperty("documentId").GetString()!, stored.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        foreach (var recording in new[] { target, victim })
        {
            var after = await _admin.GetFromJsonAsync<JsonElement>($"recordings/{recording.GetProperty("recordingId").GetString()}");
            Assert.False(after.GetProperty("chunks")[0].GetProperty("deleted").GetBoolean());
        }
    }

    [Fact]
    public async Task DeleteAfterDownload_Off_LeavesRecordingsInAcs()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator);
        await SubscribeAsync(server);

        var recording = await RecordAsync(new { durationSeconds = 1 });
        await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);

        var after = await _admin.GetFromJsonAsync<JsonElement>($"recordings/{recording.GetProperty("recordingId").GetString()}");
        Assert.False(after.GetProperty("chunks")[0].GetProperty("deleted").GetBoolean());
    }

    /// <summary>
    /// A chunk whose path already holds a different object (what colliding keys used to cause): the stored object is
    /// kept, the chunk is dead-lettered saying why, and with DeleteAfterDownload it is not deleted from ACS.
    /// </summary>
    [Fact]
    public async Task ChunkPathHoldingADifferentObject_IsRefusedDeadLetteredAndKeptInAcs()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator, s => s["CallVault:DeleteAfterDownload"] = "true");
        var recording = await RecordAsync(new { durationSeconds = 1, publish = false });
        var recordingId = recording.GetProperty("recordingId").GetString()!;
        var info = new CallVault.Jobs.RecordingInfo
        {
            Key = "unused",
            CallId = recording.GetProperty("callId").GetString(),
            RecordingId = recordingId,
            StartTime = _emulator.Context.Recordings.Find(recordingId)!.StartTime,
        };
        var occupied = Path.Combine(server.RecordingsFolder, CallVault.Storage.RecordingLayout.MediaPath(
            CallVault.Storage.RecordingLayout.FolderOf(info, DateTimeOffset.UnixEpoch), 0, CallVault.Storage.RecordingLayout.ExtensionFor(recording.GetProperty("format").GetString())));
        var earlier = RandomNumberGenerator.GetBytes(1234);
        Directory.CreateDirectory(Path.GetDirectoryName(occupied)!);
        await File.WriteAllBytesAsync(occupied, earlier);
        await SubscribeAsync(server);

        (await _admin.PostAsync($"recordings/{recordingId}/publish", null)).EnsureSuccessStatusCode();

        var stored = await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!, "failed");
        var failed = stored.GetProperty("chunks")[0];
        Assert.Equal("DeadLettered", failed.GetProperty("state").GetString());
        Assert.Contains("already holds a different object", failed.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(earlier, await File.ReadAllBytesAsync(occupied));
        var after = await _admin.GetFromJsonAsync<JsonElement>($"recordings/{recordingId}");
        Assert.False(after.GetProperty("chunks")[0].GetProperty("deleted").GetBoolean());
    }

    /// <summary>A chunk that is gone from ACS (deleted, or past retention) is dead-lettered with the reason, not retried forever.</summary>
    [Fact]
    public async Task GoneChunk_IsDeadLetteredWithTheReasonAndHealthSaysSo()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator);
        var recording = await RecordAsync(new { durationSeconds = 1, publish = false });
        var chunk = recording.GetProperty("chunks")[0];
        Assert.True(_emulator.Context.Recordings.Delete(chunk.GetProperty("documentId").GetString()!));
        await SubscribeAsync(server);

        (await _admin.PostAsync($"recordings/{recording.GetProperty("recordingId").GetString()}/publish", null)).EnsureSuccessStatusCode();

        var stored = await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!, "failed");
        var failed = stored.GetProperty("chunks")[0];
        Assert.Equal("DeadLettered", failed.GetProperty("state").GetString());
        Assert.Contains("404", failed.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var health = await server.Client.GetFromJsonAsync<JsonElement>("health/ready");
        Assert.Equal("Degraded", health.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    /// <summary>A webhook that stops receiving turns readiness Degraded with what to check, once the expected window has passed.</summary>
    [Fact]
    public async Task NoEventForLongerThanExpected_ReadinessIsDegraded()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator, s => s["CallVault:Webhook:ExpectEventWithin"] = "00:00:01");
        await SubscribeAsync(server);
        var recording = await RecordAsync(new { durationSeconds = 1 });
        await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);

        JsonElement database = default;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            database = (await server.Client.GetFromJsonAsync<JsonElement>("health/ready")).GetProperty("checks").GetProperty("database");
            if (database.GetProperty("status").GetString() == "Degraded")
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal("Degraded", database.GetProperty("status").GetString());
        Assert.Contains("No event has arrived", database.GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}

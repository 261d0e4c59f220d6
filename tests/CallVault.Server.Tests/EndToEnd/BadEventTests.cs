using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Emulator;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// One bad event among good ones, over real HTTP against the emulator: the good events are committed and downloaded,
/// the bad one is refused on its own and listed by <c>GET /api/events/rejected</c> with its reason. Run on SQLite and
/// on PostgreSQL (which, unlike SQLite, refuses NUL in text and index entries over 2,704 bytes).
/// </summary>
public abstract class BadEventTests : IAsyncLifetime
{
    private const string EventType = "Microsoft.Communication.RecordingFileStatusUpdated";
    private const string Topic = "/subscriptions/1/resourcegroups/rg/providers/microsoft.communication/communicationservices/contoso";
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;

    protected ServerUnderTest Server { get; private set; } = null!;

    /// <summary>Settings that choose the database (and store) under test.</summary>
    protected abstract Task<IEnumerable<KeyValuePair<string, string?>>> BackendSettingsAsync();

    public async Task InitializeAsync()
    {
        var backend = await BackendSettingsAsync();
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        Server = await ServerUnderTest.StartAsync(_emulator, s =>
        {
            foreach (var (key, value) in backend)
            {
                s[key] = value;
            }
        });
    }

    public virtual async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _admin.Dispose();
        await _emulator.DisposeAsync();
    }

    /// <summary>A recording in the emulator that is not announced: the test writes its event.</summary>
    private async Task<JsonElement> UnpublishedRecordingAsync()
    {
        using var response = await _admin.PostAsJsonAsync("recordings", new { durationSeconds = 1, publish = false });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static JsonObject RecordingData(JsonElement recording, string? startTime = null)
    {
        var chunks = new JsonArray();
        foreach (var c in recording.GetProperty("chunks").EnumerateArray())
        {
            chunks.Add(new JsonObject
            {
                ["documentId"] = c.GetProperty("documentId").GetString(),
                ["index"] = c.GetProperty("index").GetInt64(),
                ["endReason"] = c.GetProperty("endReason").GetString(),
                ["contentLocation"] = c.GetProperty("contentLocation").GetString(),
                ["metadataLocation"] = c.GetProperty("metadataLocation").GetString(),
                ["deleteLocation"] = c.GetProperty("deleteLocation").GetString(),
            });
        }

        return new JsonObject
        {
            ["recordingStorageInfo"] = new JsonObject { ["recordingChunks"] = chunks },
            ["recordingStartTime"] = startTime ?? "2026-03-03T09:02:11.4821907Z",
            ["recordingDurationMs"] = 1000,
            ["recordingContentType"] = "Audio",
            ["recordingChannelType"] = "Mixed",
            ["recordingFormatType"] = "Wav",
            ["sessionEndReason"] = "CallEnded",
        };
    }

    private static JsonObject EventGridEvent(string id, JsonElement recording, JsonObject? data = null) => new()
    {
        ["id"] = id,
        ["topic"] = Topic,
        ["subject"] = recording.GetProperty("subject").GetString(),
        ["data"] = data ?? RecordingData(recording),
        ["eventType"] = EventType,
        ["dataVersion"] = "1.0",
        ["metadataVersion"] = "1",
        ["eventTime"] = "2026-03-03T13:53:40.1172316Z",
    };

    private static JsonObject CloudEvent(string id, JsonElement recording) => new()
    {
        ["id"] = id,
        ["source"] = Topic,
        ["specversion"] = "1.0",
        ["type"] = EventType,
        ["subject"] = recording.GetProperty("subject").GetString(),
        ["time"] = "2026-03-03T13:53:40.1172316Z",
        ["datacontenttype"] = "application/json",
        ["data"] = RecordingData(recording),
    };

    private Task<HttpResponseMessage> DeliverAsync(JsonArray events, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Server.WebhookUrl) { Content = new StringContent(events.ToJsonString(), Encoding.UTF8, contentType) };
        request.Content.Headers.ContentType!.CharSet = "utf-8";
        request.Headers.Add("aeg-event-type", "Notification");
        return Server.Client.SendAsync(request);
    }

    private async Task<JsonElement[]> RejectedAsync()
    {
        var list = await Server.Client.GetFromJsonAsync<JsonElement>("api/events/rejected");
        return [.. list.GetProperty("events").EnumerateArray()];
    }

    /// <summary>
    /// Item 2.2: deliveries arrive together, so the group commit merges them; one of them carries an event id the
    /// database cannot take. Every other delivery is answered 200 and downloaded, and the bad event is refused on its
    /// own (200, listed as rejected) instead of answering 503 for everyone on every retry.
    /// </summary>
    [Theory]
    [InlineData("empty")]
    [InlineData("nul")]
    [InlineData("too-long")]
    public async Task ConcurrentDeliveries_OneWithABadEventId_TheOthersAreStored(string kind)
    {
        var badId = kind switch
        {
            "empty" => string.Empty,
            "nul" => "bad\0id",
            _ => string.Concat(Enumerable.Range(0, 160).Select(_ => Guid.NewGuid().ToString("N"))),
        };
        var recordings = await Task.WhenAll(Enumerable.Range(0, 7).Select(_ => UnpublishedRecordingAsync()));
        var bad = await UnpublishedRecordingAsync();

        var deliveries = recordings.Select((r, i) => DeliverAsync([EventGridEvent($"good-{kind}-{i}", r)]))
            .Append(DeliverAsync([EventGridEvent(badId, bad)]))
            .ToList();
        var responses = await Task.WhenAll(deliveries);

        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var badAnswer = await responses[^1].Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("id", Assert.Single(badAnswer.GetProperty("rejected").EnumerateArray()).GetProperty("reason").GetString()!, StringComparison.OrdinalIgnoreCase);
            foreach (var recording in recordings)
            {
                await Server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
            }

            var rejected = Assert.Single(await RejectedAsync());
            Assert.Contains(bad.GetProperty("chunks")[0].GetProperty("documentId").GetString()!, rejected.GetProperty("rawJson").GetString()!, StringComparison.Ordinal);
            Assert.Empty(await Server.Client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={bad.GetProperty("callId").GetString()}") ?? []);
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    /// <summary>
    /// Item 2.3: an event whose data cannot be read sits between two good ones. The batch is answered 200 saying what
    /// was refused, the good events are downloaded, and the bad one is kept with its reason.
    /// </summary>
    [Theory]
    [InlineData("index-not-a-number", "recordingChunks[0].index \"x\" is not a number")]
    [InlineData("bad-recordingStartTime", "recordingStartTime \"yesterday at noon\" is not an ISO 8601 date and time")]
    [InlineData("cloudevent-data_base64", "data_base64")]
    [InlineData("not-an-object", "An event must be a JSON object")]
    public async Task MalformedEvent_InABatch_GoodOnesAreStoredAndTheBadOneIsListed(string kind, string reason)
    {
        var first = await UnpublishedRecordingAsync();
        var second = await UnpublishedRecordingAsync();
        var third = await UnpublishedRecordingAsync();
        var cloud = kind.StartsWith("cloudevent", StringComparison.Ordinal);
        JsonNode bad;
        switch (kind)
        {
            case "index-not-a-number":
                var data = RecordingData(third);
                data["recordingStorageInfo"]!["recordingChunks"]![0]!["index"] = "x";
                bad = EventGridEvent("bad-event", third, data);
                break;
            case "bad-recordingStartTime":
                bad = EventGridEvent("bad-event", third, RecordingData(third, startTime: "yesterday at noon"));
                break;
            case "cloudevent-data_base64":
                var binary = CloudEvent("bad-event", third);
                binary.Remove("data");
                binary["datacontenttype"] = "application/octet-stream";
                binary["data_base64"] = Convert.ToBase64String([0, 1, 2, 3, 0xFF]);
                bad = binary;
                break;
            default:
                bad = JsonValue.Create("bad-event: a string where an event object belongs");
                break;
        }

        JsonArray batch = cloud
            ? [CloudEvent($"good-{kind}-1", first), bad, CloudEvent($"good-{kind}-2", second)]
            : [EventGridEvent($"good-{kind}-1", first), bad, EventGridEvent($"good-{kind}-2", second)];
        using var response = await DeliverAsync(batch, cloud ? "application/cloudevents-batch+json" : "application/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, answer.GetProperty("accepted").GetInt32());
        var refused = Assert.Single(answer.GetProperty("rejected").EnumerateArray());
        Assert.Equal(1, refused.GetProperty("index").GetInt32());
        Assert.Contains(reason, refused.GetProperty("reason").GetString(), StringComparison.Ordinal);
        await Server.WaitForRecordingAsync(first.GetProperty("callId").GetString()!);
        await Server.WaitForRecordingAsync(second.GetProperty("callId").GetString()!);
        var rejected = Assert.Single(await RejectedAsync());
        Assert.Equal(refused.GetProperty("reason").GetString(), rejected.GetProperty("reason").GetString());
        Assert.Contains("bad-event", rejected.GetProperty("rawJson").GetString()!, StringComparison.Ordinal);
        Assert.Empty(await Server.Client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={third.GetProperty("callId").GetString()}") ?? []);
    }

    /// <summary>
    /// A validation event is always alone in practice, but one inside a batch must not drop the recording events
    /// beside it: the code is echoed and the recording events are committed.
    /// </summary>
    [Fact]
    public async Task ValidationEventInABatch_IsAnsweredAndTheOtherEventsAreStored()
    {
        var recording = await UnpublishedRecordingAsync();
        var validation = JsonNode.Parse("""{"id":"v1","topic":"t","subject":"","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-03-03T10:00:00Z","metadataVersion":"1","dataVersion":"1"}""")!;

        using var response = await DeliverAsync([EventGridEvent("with-validation", recording), validation]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("512d38b6-c7b8-40c8-89fe-f46f9e9622b6", answer.GetProperty("validationResponse").GetString());
        await Server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
    }

    /// <summary>The same bad event delivered again (Event Grid delivers at least once) is one record, seen twice.</summary>
    [Fact]
    public async Task SameBadEventTwice_IsOneRecordSeenTwice()
    {
        var recording = await UnpublishedRecordingAsync();
        var data = RecordingData(recording);
        data["recordingStorageInfo"]!["recordingChunks"]![0]!["index"] = "x";

        using var first = await DeliverAsync([EventGridEvent("bad-twice", recording, data)]);
        using var second = await DeliverAsync([EventGridEvent("bad-twice", recording, (JsonObject)data.DeepClone())]);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        var rejected = Assert.Single(await RejectedAsync());
        Assert.Equal("bad-twice", rejected.GetProperty("eventId").GetString());
        Assert.Equal(2, rejected.GetProperty("occurrences").GetInt32());
        Assert.Equal(1, (await Server.Client.GetFromJsonAsync<JsonElement>("api/events/rejected")).GetProperty("total").GetInt32());
    }
}

/// <summary><see cref="BadEventTests"/> on the embedded SQLite database and disk store.</summary>
public sealed class BadEventTestsOnSqlite : BadEventTests
{
    protected override Task<IEnumerable<KeyValuePair<string, string?>>> BackendSettingsAsync() =>
        Task.FromResult<IEnumerable<KeyValuePair<string, string?>>>([]);
}

/// <summary><see cref="BadEventTests"/> on PostgreSQL and Azure Blob Storage (Azurite).</summary>
public sealed class BadEventTestsOnPostgreSql : BadEventTests
{
    private ScaleOutBackends _backends = null!;

    protected override async Task<IEnumerable<KeyValuePair<string, string?>>> BackendSettingsAsync()
    {
        _backends = await ScaleOutBackends.CreateAsync();
        return _backends.Settings;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _backends.DisposeAsync();
    }
}

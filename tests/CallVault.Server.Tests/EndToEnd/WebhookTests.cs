using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallVault.Testing;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The webhook on its own, driven by hand-made deliveries: authentication, handshakes, and a corpus of bad input. Each
/// bad delivery gets a clear 4xx or is ignored; nothing is written outside the store and no request reaches a host
/// that is not allowed.
/// </summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private const string Topic = "/subscriptions/1/resourcegroups/rg/providers/microsoft.communication/communicationservices/contoso";
    private ServerUnderTest _server = null!;
    private FaultyObjectServer _foreignHost = null!;

    public async Task InitializeAsync()
    {
        _foreignHost = await FaultyObjectServer.StartAsync(new byte[32]);
        _server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Acs:ConnectionString"] = "endpoint=https://contoso.communication.azure.com/;accesskey=" + Convert.ToBase64String(new byte[32]);
            s["CallVault:Webhook:Secrets:1"] = "the-second-secret-for-rotation";
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _foreignHost.DisposeAsync();
    }

    private static string RecordingEvent(string documentId = "0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f", string contentHost = "https://storage.asm.skype.com", string type = "Microsoft.Communication.RecordingFileStatusUpdated", string id = "3f9c2a71-6d0e-4b8a-9e55-0c1d2b7a4e10") => $$"""
        [{
          "id": "{{id}}",
          "topic": "{{Topic}}",
          "subject": "/recording/call/call-1/serverCallId/server-1/recordingId/rec-1",
          "data": {
            "recordingStorageInfo": { "recordingChunks": [ {
              "documentId": "{{documentId}}", "index": 0, "endReason": "SessionEnded",
              "contentLocation": "{{contentHost}}/v1/objects/{{documentId}}/content/audio",
              "metadataLocation": "{{contentHost}}/v1/objects/{{documentId}}/content/acsmetadata",
              "deleteLocation": "{{contentHost}}/v1/objects/{{documentId}}" } ] },
            "recordingStartTime": "2026-03-03T09:02:11.4821907Z",
            "recordingDurationMs": 1000,
            "recordingContentType": "Audio", "recordingChannelType": "Mixed", "recordingFormatType": "Wav",
            "sessionEndReason": "CallEnded"
          },
          "eventType": "{{type}}",
          "dataVersion": "1.0",
          "metadataVersion": "1",
          "eventTime": "2026-03-03T13:53:40.1172316Z"
        }]
        """;

    private Task<HttpResponseMessage> PostAsync(string body, string? secret = null, string contentType = "application/json", string? headerSecret = null)
    {
        var url = secret is null ? "api/events" : $"api/events?code={Uri.EscapeDataString(secret)}";
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (headerSecret is not null)
        {
            request.Headers.Add("X-CallVault-Secret", headerSecret);
        }

        request.Headers.Add("aeg-event-type", "Notification");
        return _server.Client.SendAsync(request);
    }

    private async Task<JsonElement[]> RecordingsAsync() => await _server.Client.GetFromJsonAsync<JsonElement[]>("api/recordings") ?? [];

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-secret-of-enough-length")]
    public async Task Delivery_WithoutTheSecret_Is401AndStoresNothing(string? secret)
    {
        using var response = await PostAsync(RecordingEvent(), secret);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await RecordingsAsync());
    }

    [Fact]
    public async Task Delivery_WithTheSecretInAHeaderOrTheRotatedSecret_IsAccepted()
    {
        using var byHeader = await PostAsync(RecordingEvent(), headerSecret: _server.Secret);
        using var rotated = await PostAsync(RecordingEvent(id: "other-event"), "the-second-secret-for-rotation");

        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        Assert.Single(await RecordingsAsync());
    }

    [Fact]
    public async Task ValidationEvent_IsAnsweredWithItsCode()
    {
        const string body = """[{"id":"v1","topic":"t","subject":"","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6","validationUrl":"https://rp-eastus2.eventgrid.azure.net:553/x"},"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-03-03T10:00:00Z","metadataVersion":"1","dataVersion":"1"}]""";

        using var response = await PostAsync(body, _server.Secret);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("512d38b6-c7b8-40c8-89fe-f46f9e9622b6", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("validationResponse").GetString());
    }

    [Fact]
    public async Task CloudEventsOptionsHandshake_EchoesTheOrigin()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, $"api/events?code={_server.Secret}");
        request.Headers.Add("WebHook-Request-Origin", "eventgrid.azure.net");

        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("eventgrid.azure.net", response.Headers.GetValues("WebHook-Allowed-Origin").Single());
        Assert.Equal("*", response.Headers.GetValues("WebHook-Allowed-Rate").Single());
    }

    [Fact]
    public async Task OpenApi_ListsEveryAnswerOfTheWebhook()
    {
        var document = await _server.Client.GetFromJsonAsync<JsonElement>("openapi/v1.json");

        var post = document.GetProperty("paths").GetProperty("/api/events").GetProperty("post").GetProperty("responses");
        var statuses = post.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "200", "400", "401", "403", "413", "503" }, statuses);
        Assert.Contains("401", document.GetProperty("paths").GetProperty("/api/events").GetProperty("options").GetProperty("responses").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task CloudEventsOptionsHandshake_WithoutTheSecret_Is401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "api/events");
        request.Headers.Add("WebHook-Request-Origin", "eventgrid.azure.net");

        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("WebHook-Allowed-Origin"));
    }

    [Theory]
    [InlineData("{not json", "application/json", "not valid JSON")]
    [InlineData("", "application/json", "not valid JSON")]
    [InlineData("42", "application/json", "must be a JSON array of events or one event object")]
    [InlineData("\"an event\"", "application/json", "must be a JSON array of events or one event object")]
    public async Task MalformedBodies_Are400WithAReason(string body, string contentType, string expected)
    {
        using var response = await PostAsync(body, _server.Secret, contentType);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await RecordingsAsync());
    }

    /// <summary>
    /// JSON that holds events none of which can be used: each is refused on its own and kept as a rejected event, and
    /// the delivery is answered 200 once that is recorded (a retry could never succeed, and a 400 would leave nothing
    /// in CallVault to look at). The response says what was refused and why.
    /// </summary>
    [Theory]
    [InlineData("[{\"id\": 5}]", "application/json", "Event Grid event")]
    [InlineData("[{\"id\":\"1\",\"subject\":\"s\",\"eventType\":\"x\",\"eventTime\":\"not a time\",\"dataVersion\":\"1\"}]", "application/json", "Event Grid event")]
    [InlineData("{\"specversion\":\"1.0\",\"id\":\"1\",\"type\":\"x\"}", "application/cloudevents+json", "CloudEvent")]
    public async Task UnusableEvents_AreRefusedOneByOneAndListed(string body, string contentType, string expected)
    {
        using var response = await PostAsync(body, _server.Secret, contentType);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reason = Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rejected").EnumerateArray()).GetProperty("reason").GetString();
        Assert.Contains(expected, reason, StringComparison.Ordinal);
        var listed = Assert.Single((await _server.Client.GetFromJsonAsync<JsonElement>("api/events/rejected")).GetProperty("events").EnumerateArray());
        Assert.Equal(reason, listed.GetProperty("reason").GetString());
        Assert.Empty(await RecordingsAsync());
    }

    [Fact]
    public async Task HugeBody_Is413()
    {
        var huge = "[" + string.Join(',', Enumerable.Repeat("\"" + new string('x', 1000) + "\"", 1200)) + "]";

        using var response = await PostAsync(huge, _server.Secret);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task UnknownEventTypes_AreAcknowledgedAndIgnored()
    {
        using var response = await PostAsync(RecordingEvent(type: "Microsoft.Communication.CallStarted"), _server.Secret);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ignored").GetInt32());
        Assert.Empty(await RecordingsAsync());
    }

    [Theory]
    [InlineData("../../../../tmp/evil")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("%2e%2e%2fetc")]
    public async Task DocumentIdThatIsAPath_IsIgnoredAndWritesNothing(string documentId)
    {
        using var response = await PostAsync(RecordingEvent(documentId: documentId), _server.Secret);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("invalidChunks").GetInt32());
        var recordings = await RecordingsAsync();
        Assert.All(recordings, r => Assert.Equal(0, r.GetProperty("chunks").GetInt32()));
        // The store's own traversal tests cover paths that leave its root; here: the server wrote nothing but its database,
        // its lock and its session-protection keys.
        Assert.All(
            Directory.EnumerateFiles(_server.DataFolder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_server.DataFolder, f)),
            f => Assert.Matches(@"^(callvault\.db.*|\.lock|keys/key-[0-9a-f-]+\.xml)$", f));
        Assert.False(Directory.Exists(_server.RecordingsFolder) && Directory.EnumerateFiles(_server.RecordingsFolder, "*", SearchOption.AllDirectories).Any());
    }

    /// <summary>A contentLocation on a host that is not allowed: recorded as dead-lettered with the reason, never contacted.</summary>
    [Fact]
    public async Task ContentLocationOnAForeignHost_IsDeadLetteredAndNeverContacted()
    {
        var foreign = _foreignHost.StorageBase.GetLeftPart(UriPartial.Authority);
        _foreignHost.Objects["0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f"] = 1000;

        using var response = await PostAsync(RecordingEvent(contentHost: foreign), _server.Secret);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = await _server.WaitForRecordingAsync("call-1", "failed");
        Assert.Contains("not an allowed ACS host", stored.GetProperty("chunks")[0].GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _foreignHost.ContentRequestsReceived);
        Assert.Empty(_foreignHost.Served);
    }

    [Fact]
    public async Task SameEventTwice_IsOneRecordingWithOneChunk()
    {
        using var first = await PostAsync(RecordingEvent(contentHost: "https://nowhere.asm.skype.com"), _server.Secret);
        using var second = await PostAsync(RecordingEvent(contentHost: "https://nowhere.asm.skype.com"), _server.Secret);

        Assert.Equal(1, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("newChunks").GetInt32());
        Assert.Equal(0, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("newChunks").GetInt32());
        Assert.Equal(1, Assert.Single(await RecordingsAsync()).GetProperty("chunks").GetInt32());
    }

    [Fact]
    public async Task Secrets_NeverAppearInResponses()
    {
        using var unauthorized = await PostAsync(RecordingEvent(), "wrong-secret-of-enough-length");
        var health = await _server.Client.GetStringAsync("health/ready");

        Assert.DoesNotContain(_server.Secret, await unauthorized.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Secret, health, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(new byte[32]), health, StringComparison.Ordinal);
    }
}

/// <summary>A service started with no configuration at all says what is missing.</summary>
public sealed class UnconfiguredServerTests
{
    [Fact]
    public async Task Readiness_NamesTheMissingConnectionStringAndSecret()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s.Remove("CallVault:Acs:ConnectionString");
            s.Remove("CallVault:Acs:AllowedHosts:0");
            s.Remove("CallVault:Webhook:Secrets:0");
        });

        using var ready = await server.Client.GetAsync("health/ready");
        using var live = await server.Client.GetAsync("health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var description = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("configuration").GetProperty("description").GetString();
        Assert.Contains("CallVault__Acs__ConnectionString", description, StringComparison.Ordinal);
        Assert.Contains("CallVault__Webhook__Secrets__0", description, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.True(File.Exists(Path.Combine(server.DataFolder, "callvault.db")));
    }

    [Fact]
    public async Task InvalidOptions_StopTheServiceAtStartupWithEveryReason()
    {
        // Two option types fail (CallVaultOptions and AcsClientOptions), so the host reports one validation error each.
        var error = await Assert.ThrowsAsync<AggregateException>(() => ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Worker:Concurrency"] = "0";
            s["CallVault:Acs:ConnectionString"] = "endpoint=nope;accesskey=x";
            s["CallVault:Webhook:Secrets:0"] = "short";
        }));

        var message = string.Join('\n', error.InnerExceptions.SelectMany(inner => Assert.IsType<OptionsValidationException>(inner).Failures));
        Assert.Contains("Concurrency", message, StringComparison.Ordinal);
        Assert.Contains("16 characters", message, StringComparison.Ordinal);
        Assert.Contains("endpoint", message, StringComparison.Ordinal);
    }
}

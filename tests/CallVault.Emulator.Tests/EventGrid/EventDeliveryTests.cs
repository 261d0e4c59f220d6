using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Azure.Messaging.EventGrid.SystemEvents;
using CallVault.Testing;

namespace CallVault.Emulator.Tests.EventGrid;

/// <summary>
/// Event Grid delivery against a recording webhook on loopback, checked with the official Azure.Messaging.EventGrid
/// parser: handshakes, headers, schemas, status-code rules, retries, dead letters, batching, duplicates.
/// </summary>
public sealed class EventDeliveryTests : EmulatorTestBase
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private WebhookRecorder _webhook = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _webhook = await WebhookRecorder.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        await base.DisposeAsync();
    }

    private async Task<JsonElement> SubscribeAsync(object spec, HttpStatusCode expected = HttpStatusCode.Created)
    {
        using var response = await Admin.PostAsJsonAsync("subscriptions", spec);
        Assert.True(response.StatusCode == expected, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<JsonElement[]> DeliveriesAsync() => await Admin.GetFromJsonAsync<JsonElement[]>("deliveries") ?? [];

    [Fact]
    public async Task EventGridSchema_HandshakeThenDelivery_ParsesWithTheAzureSdk()
    {
        var subscription = await SubscribeAsync(new { name = "callvault", endpoint = _webhook.Url + "?code=s3cret" });
        var recording = await RecordAsync(new { durationSeconds = 10, chunkSizeLimitBytes = 120_000 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 1, Patience));
        Assert.Equal("Active", subscription.GetProperty("state").GetString());
        var handshake = _webhook.Received.First();
        Assert.Equal("SubscriptionValidation", handshake.Headers["aeg-event-type"]);
        Assert.Equal("/api/events?code=s3cret", handshake.PathAndQuery);

        var delivery = _webhook.Notifications[0];
        Assert.Equal("/api/events?code=s3cret", delivery.PathAndQuery);
        Assert.Equal("application/json; charset=utf-8", delivery.Headers["content-type"]);
        Assert.Equal("CALLVAULT", delivery.Headers["aeg-subscription-name"]);
        Assert.Equal("0", delivery.Headers["aeg-delivery-count"]);
        Assert.Equal("1", delivery.Headers["aeg-metadata-version"]);
        Assert.Equal("1.0", delivery.Headers["aeg-data-version"]);
        var parsed = Assert.Single(EventGridEvent.ParseMany(BinaryData.FromString(delivery.Body)));
        Assert.Equal(SystemEventNames.AcsRecordingFileStatusUpdated, parsed.EventType);
        Assert.Equal(recording.GetProperty("subject").GetString(), parsed.Subject);
        Assert.True(parsed.TryGetSystemEventData(out var data));
        var recordingData = Assert.IsType<AcsRecordingFileStatusUpdatedEventData>(data);
        Assert.Equal(3, recordingData.RecordingStorageInfo.RecordingChunks.Count);
        Assert.Equal(AcsRecordingFormatType.Wav, recordingData.FormatType);
        var expectedLocations = recording.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("contentLocation").GetString());
        Assert.Equal(expectedLocations, recordingData.RecordingStorageInfo.RecordingChunks.Select(c => c.ContentLocation));
    }

    [Fact]
    public async Task CloudEventsSchema_OptionsHandshakeThenSingleObjectDelivery()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString(), schema = "CloudEvents", deliveryHeaders = new Dictionary<string, string> { ["X-Webhook-Secret"] = "s3cret" } });
        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 1, Patience));
        var handshake = _webhook.Received.First();
        Assert.Equal("OPTIONS", handshake.Method);
        Assert.Equal("eventgrid.azure.net", handshake.Headers["webhook-request-origin"]);
        Assert.Equal("s3cret", handshake.Headers["x-webhook-secret"]);
        var delivery = _webhook.Notifications[0];
        Assert.Equal("application/cloudevents+json; charset=utf-8", delivery.Headers["content-type"]);
        Assert.Equal("s3cret", delivery.Headers["x-webhook-secret"]);
        Assert.StartsWith("{", delivery.Body, StringComparison.Ordinal);
        var cloudEvent = CloudEvent.Parse(BinaryData.FromString(delivery.Body))!;
        Assert.Equal(SystemEventNames.AcsRecordingFileStatusUpdated, cloudEvent.Type);
        Assert.True(cloudEvent.TryGetSystemEventData(out var data));
        Assert.IsType<AcsRecordingFileStatusUpdatedEventData>(data);
    }

    [Fact]
    public async Task ValidationAnsweredWithoutCode_AwaitsManualValidationUntilTheUrlIsCalled()
    {
        _webhook.EchoValidationCode = false;

        var subscription = await SubscribeAsync(new { endpoint = _webhook.Url.ToString() });
        await RecordAsync(new { durationSeconds = 1 });
        Assert.Equal("AwaitingManualAction", subscription.GetProperty("state").GetString());
        using (var validation = await Admin.GetAsync(subscription.GetProperty("validationUrl").GetString()))
        {
            Assert.Equal(HttpStatusCode.OK, validation.StatusCode);
        }

        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 1, Patience));
        // Idle means no delivery is pending or waiting for a retry, so nothing of the recording published before the
        // validation can still arrive: one notification is the final count, not a snapshot.
        Assert.True(await Emulator.Context.EventGrid.WaitForIdleAsync(Patience));
        Assert.Single(_webhook.Notifications);
    }

    [Fact]
    public async Task HandshakeRefused_SubscriptionFailsWith400()
    {
        _webhook.ForcedStatus = 403;

        var problem = await SubscribeAsync(new { endpoint = _webhook.Url.ToString() }, HttpStatusCode.BadRequest);

        Assert.Contains("validation handshake failed", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>500 and 503 are retried on the (scaled) schedule with increasing aeg-delivery-count.</summary>
    [Fact]
    public async Task RetryableStatuses_AreRetriedUntilDelivered()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString() });
        _webhook.NotificationStatuses.Enqueue(500);
        _webhook.NotificationStatuses.Enqueue(503);
        _webhook.NotificationStatuses.Enqueue(429);

        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 4, Patience));
        Assert.Equal(["0", "1", "2", "3"], _webhook.Notifications.Select(n => n.Headers["aeg-delivery-count"]));
        Assert.Single(_webhook.Notifications.Select(n => n.Body).Distinct());
        var outcomes = (await DeliveriesAsync()).Select(d => d.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(["WillRetry", "WillRetry", "WillRetry", "Delivered"], outcomes);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(413)]
    public async Task NonRetryableStatus_IsDeadLetteredAfterOneAttempt(int status)
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString() });
        _webhook.NotificationStatuses.Enqueue(status);

        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => Emulator.Context.EventGrid.DeadLetters.Count == 1, Patience));
        var deadLetter = Assert.Single(await Admin.GetFromJsonAsync<JsonElement[]>("dead-letters") ?? []);
        Assert.Equal("NoRetryStatusCode", deadLetter.GetProperty("deadLetterReason").GetString());
        Assert.Single(_webhook.Notifications);
    }

    [Fact]
    public async Task MaxDeliveryAttempts_ExhaustedThenDeadLettered()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString(), maxDeliveryAttempts = 3 });
        for (var i = 0; i < 10; i++)
        {
            _webhook.NotificationStatuses.Enqueue(500);
        }

        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => Emulator.Context.EventGrid.DeadLetters.Count == 1, Patience));
        Assert.Equal(3, _webhook.Notifications.Count);
        Assert.Equal("MaxDeliveryAttemptsExceeded", Emulator.Context.EventGrid.DeadLetters[0].DeadLetterReason);
    }

    [Fact]
    public async Task Batching_EventPerChunk_ArrivesInOneArray()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString(), maxEventsPerBatch = 10 });

        await RecordAsync(new { durationSeconds = 10, chunkSizeLimitBytes = 120_000, delivery = new { eventPerChunk = true } });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 1, Patience));
        Assert.Equal(3, EventGridEvent.ParseMany(BinaryData.FromString(_webhook.Notifications[0].Body)).Length);
    }

    [Fact]
    public async Task DuplicateAndReversed_DeliverEachEventTwiceLastChunkFirst()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString() });

        var recording = await RecordAsync(new { durationSeconds = 10, chunkSizeLimitBytes = 120_000, delivery = new { eventPerChunk = true, reverseOrder = true, duplicate = true } });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 6, Patience));
        var eventIds = recording.GetProperty("eventIds").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(6, eventIds.Count);
        Assert.Equal(3, eventIds.Distinct().Count());
        var indexes = _webhook.Notifications
            .Select(n => JsonDocument.Parse(n.Body).RootElement[0].GetProperty("data").GetProperty("recordingStorageInfo").GetProperty("recordingChunks")[0].GetProperty("index").GetInt32())
            .ToList();
        Assert.Equal([2, 2, 1, 1, 0, 0], indexes);
    }

    [Fact]
    public async Task Republish_SendsTheSameEventIdsAgain()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString() });
        var recording = await RecordAsync(new { durationSeconds = 1 });
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 1, Patience));

        (await Admin.PostAsync($"recordings/{recording.GetProperty("recordingId").GetString()}/publish", null)).EnsureSuccessStatusCode();

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 2, Patience));
        var ids = _webhook.Notifications.Select(n => EventGridEvent.ParseMany(BinaryData.FromString(n.Body))[0].Id).ToList();
        Assert.Equal(ids[0], ids[1]);
    }

    [Fact]
    public async Task Preview2021Shape_CarriesDocumentIdsOnlyAndPreviewSubject()
    {
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString() });

        var recording = await RecordAsync(new { durationSeconds = 1, eventShape = "preview2021" });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => _webhook.Notifications.Count == 1, Patience));
        var parsed = EventGridEvent.ParseMany(BinaryData.FromString(_webhook.Notifications[0].Body))[0];
        Assert.Equal($"/recording/call/{recording.GetProperty("callId").GetString()}/recordingId/{recording.GetProperty("recordingId").GetString()}", parsed.Subject);
        Assert.True(parsed.TryGetSystemEventData(out var data));
        var chunk = Assert.Single(((AcsRecordingFileStatusUpdatedEventData)data).RecordingStorageInfo.RecordingChunks);
        Assert.Null(chunk.ContentLocation);
        Assert.Equal(Chunk(recording).GetProperty("documentId").GetString(), chunk.DocumentId);
    }

    [Fact]
    public async Task DeadWebhook_IsRetriedAsSocketErrors()
    {
        var port = _webhook.Url.Port;
        await SubscribeAsync(new { endpoint = _webhook.Url.ToString(), maxDeliveryAttempts = 2 });
        await _webhook.DisposeAsync();
        _webhook = await WebhookRecorder.StartAsync();

        await RecordAsync(new { durationSeconds = 1 });

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => Emulator.Context.EventGrid.DeadLetters.Count == 1, Patience));
        Assert.Equal("SocketError", Emulator.Context.EventGrid.DeadLetters[0].LastDeliveryOutcome);
        Assert.NotEqual(port, _webhook.Url.Port);
    }
}

using CallVault.Acs;
using CallVault.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CallVault.Core.Tests.Events;

/// <summary>
/// The intake's per-event decisions: what the database could not store is refused before the commit, one event at a
/// time, at the documented limits; a validation problem refuses a delivery only when it is the delivery's one event.
/// </summary>
public sealed class WebhookIntakeTests
{
    private const string Topic = "/subscriptions/1/resourcegroups/rg/providers/microsoft.communication/communicationservices/contoso";

    private static WebhookIntake Intake(params string[] allowedTopics)
    {
        var options = new CallVaultOptions();
        foreach (var topic in allowedTopics)
        {
            options.Webhook.AllowedTopics.Add(topic);
        }

        var acs = new AcsClientOptions { ConnectionString = "endpoint=https://contoso.communication.azure.com/;accesskey=" + Convert.ToBase64String(new byte[32]) };
        return new WebhookIntake(new Monitor<CallVaultOptions>(options), new Monitor<AcsClientOptions>(acs), NullLogger<WebhookIntake>.Instance);
    }

    private static string Recording(string id = "e1", string documentId = "0-weu-d4-abc", string endReason = "SessionEnded", string sessionEndReason = "CallEnded", string recordingId = "rec-1") =>
        System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["id"] = id,
            ["topic"] = Topic,
            ["subject"] = $"/recording/call/call-1/serverCallId/server-1/recordingId/{recordingId}",
            ["eventType"] = "Microsoft.Communication.RecordingFileStatusUpdated",
            ["dataVersion"] = "1.0",
            ["eventTime"] = "2026-03-03T13:53:40Z",
            ["data"] = new Dictionary<string, object>
            {
                ["recordingStorageInfo"] = new { recordingChunks = new[] { new { documentId, index = 0, endReason, contentLocation = $"https://storage.asm.skype.com/v1/objects/{documentId}/content/audio", metadataLocation = $"https://storage.asm.skype.com/v1/objects/{documentId}/content/acsmetadata" } } },
                ["sessionEndReason"] = sessionEndReason,
            },
        });

    private static IntakeResult.Events Parse(WebhookIntake intake, params string[] events) =>
        Assert.IsType<IntakeResult.Events>(intake.Parse(BinaryData.FromString("[" + string.Join(',', events) + "]"), "application/json"));

    [Theory]
    [InlineData(256, true)]
    [InlineData(257, false)]
    public void EventId_IsAcceptedUpTo256Characters(int length, bool accepted)
    {
        var result = Parse(Intake(), Recording(id: new string('e', length)));

        Assert.Equal(accepted ? 1 : 0, result.Accepted.Count);
        Assert.Equal(accepted ? 0 : 1, result.Rejected.Count);
    }

    [Fact]
    public void NulInARecordingValue_RefusesThatEventOnly()
    {
        var result = Parse(Intake(), Recording(id: "good"), Recording(id: "bad", sessionEndReason: "Call\0Ended"), Recording(id: "bad-recording", recordingId: "rec\0"));

        Assert.Equal(["good"], result.Accepted.Select(a => a.EventId));
        Assert.Equal([1, 2], result.Rejected.Select(r => r.Index));
        Assert.Contains("sessionEndReason contains a NUL", result.Rejected[0].Reason, StringComparison.Ordinal);
        Assert.Contains("The subject contains a NUL", result.Rejected[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NulInAChunkValue_SkipsThatChunkAndKeepsTheEvent()
    {
        var result = Parse(Intake(), Recording(id: "e1", endReason: "Session\0Ended"));

        Assert.Empty(Assert.Single(result.Accepted).Chunks);
        Assert.Equal(1, result.InvalidChunks);
        Assert.Contains("Chunk 0 (0-weu-d4-abc): endReason contains a NUL", Assert.Single(result.Rejected).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ForeignValidation_AloneIs403_InABatchIsRefusedAlone()
    {
        const string validation = """{"id":"v1","topic":"/somebody/else","subject":"","data":{"validationCode":"c0de"},"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-03-03T10:00:00Z","dataVersion":"1"}""";
        var intake = Intake(Topic);

        var alone = intake.Parse(BinaryData.FromString("[" + validation + "]"), "application/json");
        var batch = Parse(intake, Recording(), validation);

        Assert.Equal(403, Assert.IsType<IntakeResult.Refused>(alone).Status);
        Assert.Single(batch.Accepted);
        Assert.Null(batch.ValidationCode);
        Assert.Contains("topic is not one of the configured", Assert.Single(batch.Rejected).Reason, StringComparison.Ordinal);
    }

    /// <summary>
    /// A hostile event for chunk A whose content location names chunk B: storing B's bytes as A and then deleting A from
    /// ACS would lose A for good, so the chunk is refused with the reason (and kept, dead-lettered, for a look).
    /// </summary>
    [Theory]
    [InlineData("content/audio")]
    [InlineData("content/acsmetadata")]
    public void LocationNamingAnotherObject_RefusesTheChunk(string which)
    {
        var hostile = Recording(documentId: "0-weu-d4-aaa").Replace($"v1/objects/0-weu-d4-aaa/{which}", $"v1/objects/0-weu-d4-bbb/{which}", StringComparison.Ordinal);

        var chunk = Assert.Single(Assert.Single(Parse(Intake(), hostile).Accepted).Chunks);

        Assert.Contains("names object 0-weu-d4-bbb, not this chunk's document id 0-weu-d4-aaa", chunk.RejectedReason, StringComparison.Ordinal);
    }

    /// <summary>Locations that name the chunk's own object are accepted as they are.</summary>
    [Fact]
    public void LocationsNamingTheChunk_AreAccepted() =>
        Assert.Null(Assert.Single(Assert.Single(Parse(Intake(), Recording(documentId: "0-weu-d4-aaa")).Accepted).Chunks).RejectedReason);

    /// <summary>
    /// A recording event from a resource missing from AllowedTopics is not downloaded, but kept as a rejected event
    /// with what to do, instead of being acknowledged and dropped without a trace.
    /// </summary>
    [Fact]
    public void RecordingEventFromATopicNotAllowed_IsKeptAsRejected()
    {
        var result = Parse(Intake("/subscriptions/2/other-resource"), Recording(id: "from-elsewhere"));

        Assert.Empty(result.Accepted);
        var rejected = Assert.Single(result.Rejected);
        Assert.Equal("from-elsewhere", rejected.EventId);
        Assert.Contains("Webhook:AllowedTopics", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CloudEventWithBinaryData_SaysSo()
    {
        const string cloudEvent = """{"id":"1","source":"s","specversion":"1.0","type":"Microsoft.Communication.RecordingFileStatusUpdated","datacontenttype":"application/octet-stream","data_base64":"AAECA/8="}""";

        var result = Assert.IsType<IntakeResult.Events>(Intake().Parse(BinaryData.FromString(cloudEvent), "application/cloudevents+json"));

        Assert.Contains("data_base64", Assert.Single(result.Rejected).Reason, StringComparison.Ordinal);
    }

    private sealed class Monitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}

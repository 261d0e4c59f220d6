using BenchmarkDotNet.Attributes;
using CallVault.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CallVault.Bench.Micro;

/// <summary>
/// Parsing an Event Grid delivery of RecordingFileStatusUpdated events (Azure.Messaging.EventGrid plus our checks of
/// every chunk), as the webhook does before it queues anything: the CPU side of the webhook's acknowledgement time.
/// </summary>
[MemoryDiagnoser]
public class EventParsingBenchmarks
{
    private WebhookIntake _intake = null!;
    private BinaryData _delivery = null!;

    /// <summary>Events in the delivery.</summary>
    [Params(1, 100)]
    public int Events { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _intake = new WebhookIntake(new Static<CallVaultOptions>(new CallVaultOptions()), new Static<Acs.AcsClientOptions>(new Acs.AcsClientOptions()), NullLogger<WebhookIntake>.Instance);
        var events = Enumerable.Range(0, Events).Select(i => $$"""
            {"id":"event-{{i}}","topic":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/communicationServices/contoso",
             "subject":"/recording/call/call-{{i}}/serverCallId/server-{{i}}/recordingId/rec-{{i}}",
             "data":{"recordingStorageInfo":{"recordingChunks":[{"documentId":"0-eus-d1-{{i:D32}}","index":0,"endReason":"SessionEnded",
               "metadataLocation":"https://us-storage.asm.skype.com/v1/objects/0-eus-d1-{{i:D32}}/content/acsmetadata",
               "contentLocation":"https://us-storage.asm.skype.com/v1/objects/0-eus-d1-{{i:D32}}/content/audio",
               "deleteLocation":"https://us-storage.asm.skype.com/v1/objects/0-eus-d1-{{i:D32}}"}]},
               "recordingStartTime":"2026-03-03T09:00:00Z","recordingDurationMs":600000,"sessionEndReason":"CallEnded",
               "recordingContentType":"Audio","recordingChannelType":"Unmixed","recordingFormatType":"Wav"},
             "eventType":"Microsoft.Communication.RecordingFileStatusUpdated","dataVersion":"1.0","metadataVersion":"1","eventTime":"2026-03-03T10:00:00Z"}
            """);
        _delivery = BinaryData.FromString("[" + string.Join(",", events) + "]");
    }

    [Benchmark]
    public IntakeResult ParseDelivery() => _intake.Parse(_delivery, "application/json");

    private sealed class Static<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}

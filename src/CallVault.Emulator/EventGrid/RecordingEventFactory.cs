using System.Globalization;
using System.Text.Json.Nodes;
using CallVault.Emulator.Recordings;

namespace CallVault.Emulator.EventGrid;

/// <summary>Builds <c>Microsoft.Communication.RecordingFileStatusUpdated</c> events in the GA shape (locations on the
/// storage host) or the 2021-preview shape (document ids only).</summary>
internal static class RecordingEventFactory
{
    public const string EventType = "Microsoft.Communication.RecordingFileStatusUpdated";
    public const string Topic = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/callvault-emulator/providers/microsoft.communication/communicationservices/emulator";

    /// <summary>One event per recording listing every chunk (what ACS documents), or one per chunk, in the order and
    /// with the duplicates the recording's delivery settings ask for.</summary>
    public static IReadOnlyList<RecordingEvent> Create(EmulatedRecording recording, EmulatorContext emulator)
    {
        var delivery = recording.Spec.Delivery ?? new DeliverySpec();
        var groups = delivery.EventPerChunk
            ? recording.Chunks.Select(c => (IReadOnlyList<EmulatedChunk>)[c]).ToList()
            : [recording.Chunks];
        var events = groups
            .Select(chunks => new RecordingEvent(Guid.NewGuid().ToString(), Data(recording, chunks, emulator), Subject(recording), emulator.TimeProvider.GetUtcNow()))
            .ToList();
        if (delivery.ReverseOrder)
        {
            events.Reverse();
        }

        return delivery.Duplicate ? [.. events.SelectMany(e => new[] { e, e })] : events;
    }

    public static JsonObject ToEventGridSchema(RecordingEvent e) => new()
    {
        ["id"] = e.Id,
        ["topic"] = Topic,
        ["subject"] = e.Subject,
        ["data"] = e.Data.DeepClone(),
        ["eventType"] = EventType,
        ["dataVersion"] = "1.0",
        ["metadataVersion"] = "1",
        ["eventTime"] = e.Time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
    };

    public static JsonObject ToCloudEventSchema(RecordingEvent e) => new()
    {
        ["id"] = e.Id,
        ["source"] = Topic,
        ["specversion"] = "1.0",
        ["type"] = EventType,
        ["subject"] = e.Subject,
        ["time"] = e.Time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        ["datacontenttype"] = "application/json",
        ["data"] = e.Data.DeepClone(),
    };

    private static string Subject(EmulatedRecording recording) =>
        recording.Spec.EventShape.Equals("preview2021", StringComparison.OrdinalIgnoreCase) ? recording.PreviewSubject : recording.Subject;

    private static JsonObject Data(EmulatedRecording recording, IReadOnlyList<EmulatedChunk> chunks, EmulatorContext emulator)
    {
        var preview = recording.Spec.EventShape.Equals("preview2021", StringComparison.OrdinalIgnoreCase);
        var chunkArray = new JsonArray();
        foreach (var chunk in chunks)
        {
            var item = new JsonObject
            {
                ["documentId"] = chunk.DocumentId,
                ["index"] = chunk.Index,
                ["endReason"] = chunk.EndReason,
            };
            if (!preview && recording.Export?.Blobs.GetValueOrDefault(chunk.DocumentId) is { } exported)
            {
                // Exported files live in the customer's container: the event points there, and there is nothing in
                // ACS's storage to delete.
                item["contentLocation"] = exported.Content.AbsoluteUri;
                item["metadataLocation"] = exported.Metadata.AbsoluteUri;
            }
            else if (!preview)
            {
                item["contentLocation"] = emulator.ContentLocation(chunk).AbsoluteUri;
                item["metadataLocation"] = emulator.MetadataLocation(chunk).AbsoluteUri;
                item["deleteLocation"] = emulator.DeleteLocation(chunk).AbsoluteUri;
            }

            chunkArray.Add(item);
        }

        var data = new JsonObject
        {
            ["recordingStorageInfo"] = new JsonObject { ["recordingChunks"] = chunkArray },
            ["recordingStartTime"] = recording.StartTime.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["recordingDurationMs"] = (long)recording.Duration.TotalMilliseconds,
        };
        if (!preview)
        {
            data["recordingContentType"] = recording.ContentType == "audioVideo" ? "AudioVideo" : "Audio";
            data["recordingChannelType"] = recording.ChannelType == "unmixed" ? "Unmixed" : "Mixed";
            data["recordingFormatType"] = CultureInfo.InvariantCulture.TextInfo.ToTitleCase(recording.Format);
        }

        data["sessionEndReason"] = "CallEnded";
        return data;
    }
}

/// <summary>One event, before it is put in a schema.</summary>
internal sealed record RecordingEvent(string Id, JsonObject Data, string Subject, DateTimeOffset Time);

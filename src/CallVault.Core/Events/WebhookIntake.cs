using System.Globalization;
using System.Text.Json;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Azure.Messaging.EventGrid.SystemEvents;
using CallVault.Acs;
using CallVault.Acs.Hosts;
using CallVault.Acs.Recordings;
using CallVault.Jobs;
using CallVault.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallVault.Events;

/// <summary>
/// Turns an Event Grid delivery into a decision: echo a validation code, accept the recording chunks it carries, or
/// refuse it. Parses with <c>Azure.Messaging.EventGrid</c> (Event Grid schema) and <c>Azure.Messaging</c>
/// (CloudEvents 1.0, single or batch); knows nothing of HTTP.
/// </summary>
/// <remarks>
/// Each event of a delivery is handled on its own: the body is split into its elements with <see cref="JsonDocument"/>
/// and each element goes to the SDK separately, so an element the SDK cannot read, data it cannot convert, or a value
/// the database could not store (see <see cref="StoredText"/>) refuses that event alone (an
/// <see cref="IntakeRejection"/>), never the events beside it. Only a body that is not JSON, or whose root is neither
/// an array nor an object, refuses the whole delivery.
/// </remarks>
public sealed partial class WebhookIntake(
    IOptionsMonitor<CallVaultOptions> options,
    IOptionsMonitor<AcsClientOptions> acsOptions,
    ILogger<WebhookIntake> logger,
    Byos.ExportedBlobLocations? exportedBlobs = null)
{
    /// <summary>Whether a delivery carries one of the configured secrets, compared in constant time.</summary>
    /// <param name="querySecret">The value of the secret query parameter, if any.</param>
    /// <param name="headerSecret">The value of the secret header, if any.</param>
    public bool IsAuthenticated(string? querySecret, string? headerSecret)
    {
        var webhook = options.CurrentValue.Webhook;
        if (webhook.AllowUnauthenticated)
        {
            return true;
        }

        var matched = false;
        foreach (var secret in webhook.Secrets.Where(s => !string.IsNullOrEmpty(s)))
        {
            matched |= CallVault.Security.SecretComparison.AreEqual(secret, querySecret);
            matched |= CallVault.Security.SecretComparison.AreEqual(secret, headerSecret);
        }

        return matched;
    }

    /// <summary>Parses a delivery body.</summary>
    /// <param name="body">The raw body.</param>
    /// <param name="contentType">The request's content type; <c>application/cloudevents*</c> selects CloudEvents.</param>
    public IntakeResult Parse(BinaryData body, string? contentType)
    {
        ArgumentNullException.ThrowIfNull(body);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return new IntakeResult.Refused(400, $"The body is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind is not (JsonValueKind.Array or JsonValueKind.Object))
            {
                return new IntakeResult.Refused(400, "The body must be a JSON array of events or one event object.");
            }

            List<JsonElement> elements = root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : [root];
            var cloudEventsByContentType = contentType?.StartsWith("application/cloudevents", StringComparison.OrdinalIgnoreCase) == true;
            var collected = new Collected();
            for (var index = 0; index < elements.Count; index++)
            {
                var element = elements[index];
                var refusal = Handle(index, element, cloudEventsByContentType, collected, lenientValidation: false);

                // A validation that cannot be answered refuses the delivery only when it is the delivery's one event;
                // inside a batch it is refused alone (kept as rejected), so the other events still count.
                if (refusal is not null && elements.Count == 1)
                {
                    return refusal;
                }
            }

            if (collected.ValidationCode is { } code && collected.Accepted.Count == 0 && collected.Rejected.Count == 0)
            {
                return new IntakeResult.Validation(code);
            }

            return new IntakeResult.Events(collected.Accepted, collected.Ignored, collected.InvalidChunks, collected.Rejected, collected.ValidationCode);
        }
    }

    /// <summary>
    /// Reads events that arrived some other way than a webhook delivery (an Event Grid dead-letter blob), with the
    /// same per-event decisions as <see cref="Parse"/>; each element's schema (Event Grid or CloudEvents) is told by its
    /// own fields. Nothing here is answered to a sender: a validation event is counted under <see cref="IntakeResult.Events.Ignored"/>
    /// like any other event that is not a recording event, and a whole-delivery refusal cannot happen.
    /// </summary>
    /// <param name="elements">The events, each a JSON element (an element that is not an object is rejected alone).</param>
    public IntakeResult.Events ParseEvents(IReadOnlyList<JsonElement> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var collected = new Collected();
        for (var index = 0; index < elements.Count; index++)
        {
            Handle(index, elements[index], cloudEventsByContentType: false, collected, lenientValidation: true);
        }

        return new IntakeResult.Events(collected.Accepted, collected.Ignored, collected.InvalidChunks, collected.Rejected);
    }

    /// <summary>
    /// Handles one element of the delivery; returns a refusal of the whole delivery if it were alone in it. With
    /// <c>lenientValidation</c> (no sender waits for an answer), a validation event is counted as ignored instead.
    /// </summary>
    private IntakeResult.Refused? Handle(int index, JsonElement element, bool cloudEventsByContentType, Collected collected, bool lenientValidation)
    {
        var raw = element.GetRawText();
        if (element.ValueKind != JsonValueKind.Object)
        {
            collected.Reject(logger, index, null, null, $"An event must be a JSON object; element {index} is a {element.ValueKind}.", raw);
            return null;
        }

        var cloud = cloudEventsByContentType || (element.TryGetProperty("specversion", out _) && !element.TryGetProperty("eventType", out _));
        IncomingEvent incoming;
        try
        {
            incoming = cloud ? FromCloudEvent(CloudEvent.Parse(BinaryData.FromString(raw))!) : FromEventGridEvent(EventGridEvent.Parse(BinaryData.FromString(raw)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            collected.Reject(logger, index, StringProperty(element, "id"), StringProperty(element, cloud ? "type" : "eventType"), $"Not a readable {(cloud ? "CloudEvent" : "Event Grid event")}: {ex.Message}", raw);
            return null;
        }

        if (lenientValidation && incoming.Type.Equals(SystemEventNames.EventGridSubscriptionValidation, StringComparison.OrdinalIgnoreCase))
        {
            collected.Ignored[incoming.Type] = collected.Ignored.GetValueOrDefault(incoming.Type) + 1;
            return null;
        }

        if (incoming.Type.Equals(SystemEventNames.EventGridSubscriptionValidation, StringComparison.OrdinalIgnoreCase))
        {
            if (!IsAllowedTopic(incoming.Topic))
            {
                Log.ValidationFromForeignTopic(logger, incoming.Topic);
                const string Foreign = "Validation refused: the topic is not one of the configured ACS resources.";
                collected.Reject(logger, index, incoming.Id, incoming.Type, Foreign, raw);
                return new IntakeResult.Refused(403, Foreign);
            }

            if (ValidationCode(incoming.Data) is not { } code)
            {
                const string NoCode = "The validation event has no validationCode.";
                collected.Reject(logger, index, incoming.Id, incoming.Type, NoCode, raw);
                return new IntakeResult.Refused(400, NoCode);
            }

            collected.ValidationCode ??= code;
            return null;
        }

        var isRecordingEvent = incoming.Type.Equals(SystemEventNames.AcsRecordingFileStatusUpdated, StringComparison.OrdinalIgnoreCase);
        if (isRecordingEvent && !IsAllowedTopic(incoming.Topic))
        {
            // Not downloaded, but never dropped without a trace: a resource missing from AllowedTopics (a second ACS
            // resource, a mistyped id) would otherwise lose its recordings silently once ACS's retention ran out.
            collected.Reject(logger, index, incoming.Id, incoming.Type, "The topic is not one of the ACS resources in Webhook:AllowedTopics, so its recording was not downloaded; add the resource there if it is yours.", raw);
            return null;
        }

        if (!isRecordingEvent || !IsAllowedTopic(incoming.Topic))
        {
            var label = IsAllowedTopic(incoming.Topic) ? incoming.Type : Diagnostics.CallVaultMetrics.ForeignTopicLabel;
            collected.Ignored[label] = collected.Ignored.GetValueOrDefault(label) + 1;
            return null;
        }

        var problem = StoredText.Problem("The event id", incoming.Id, StoredText.MaxIndexedLength, required: true)
            ?? StoredText.Problem("The topic", incoming.Topic, StoredText.MaxPathLength)
            ?? StoredText.Problem("The subject", incoming.Subject, StoredText.MaxPathLength);
        if (problem is not null)
        {
            collected.Reject(logger, index, incoming.Id, incoming.Type, problem, raw);
            return null;
        }

        AcsRecordingFileStatusUpdatedEventData? data;
        try
        {
            data = RecordingData(incoming);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The SDK swallows most conversion errors (and then says false), but one element must never fail the rest.
            Log.UnreadableData(logger, incoming.Id, ex);
            data = null;
        }

        if (data?.RecordingStorageInfo?.RecordingChunks is not { } chunkInfos)
        {
            collected.Reject(logger, index, incoming.Id, incoming.Type, UnreadableDataReason.Describe(incoming.Data), raw);
            return null;
        }

        var (recording, recordingProblem) = ToRecording(incoming, data);
        if (recordingProblem is not null)
        {
            collected.Reject(logger, index, incoming.Id, incoming.Type, recordingProblem, raw);
            return null;
        }

        var (chunks, chunkProblems) = ToChunks(incoming, recording!, chunkInfos);
        collected.InvalidChunks += chunkProblems.Count;
        if (chunkProblems.Count > 0)
        {
            // The readable chunks go ahead; what was skipped is kept so that it can be looked at.
            collected.Reject(logger, index, incoming.Id, incoming.Type, $"{string.Join(" ", chunkProblems)} The event's other chunks, if any, were accepted.", raw);
        }

        collected.Accepted.Add(new AcceptedEvent(incoming.Id, incoming.Type, chunks));
        return null;
    }

    private static IncomingEvent FromEventGridEvent(EventGridEvent e) => new(e.Id, e.EventType, e.Topic, e.Subject, e.EventTime, e.Data, e);

    private static IncomingEvent FromCloudEvent(CloudEvent e) => new(e.Id, e.Type, e.Source, e.Subject, e.Time ?? DateTimeOffset.MinValue, e.Data, e);

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static AcsRecordingFileStatusUpdatedEventData? RecordingData(IncomingEvent incoming)
    {
        object? data = null;
        var parsed = incoming.Source switch
        {
            EventGridEvent eg => eg.TryGetSystemEventData(out data),
            CloudEvent ce => ce.TryGetSystemEventData(out data),
            _ => false,
        };
        return parsed ? data as AcsRecordingFileStatusUpdatedEventData : null;
    }

    private static string? ValidationCode(BinaryData? data)
    {
        if (data is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(data);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("validationCode", out var code)
                && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private bool IsAllowedTopic(string? topic)
    {
        var allowed = options.CurrentValue.Webhook.AllowedTopics;
        return allowed.Count == 0 || (topic is not null && allowed.Any(a => a.Equals(topic, StringComparison.OrdinalIgnoreCase)));
    }

    private static (RecordingInfo? Recording, string? Problem) ToRecording(IncomingEvent incoming, AcsRecordingFileStatusUpdatedEventData data)
    {
        var subject = RecordingSubject.Parse(incoming.Subject);
        var recording = new RecordingInfo
        {
            Key = RecordingKey(subject, data.RecordingStartTime, incoming.Id),
            RecordingId = subject.RecordingId,
            CallId = subject.CallId,
            ServerCallId = subject.ServerCallId,
            Topic = incoming.Topic,
            StartTime = data.RecordingStartTime,
            DurationMs = data.RecordingDurationMs,
            ContentType = data.ContentType?.ToString(),
            ChannelType = data.ChannelType?.ToString(),
            FormatType = data.FormatType?.ToString(),
            SessionEndReason = data.SessionEndReason,
        };
        var problem = StoredText.Problem("The recording id", recording.RecordingId, StoredText.MaxIndexedLength)
            ?? StoredText.Problem("The call id", recording.CallId, StoredText.MaxIndexedLength)
            ?? StoredText.Problem("The server call id", recording.ServerCallId, StoredText.MaxIndexedLength)
            ?? StoredText.Problem("The recording key", recording.Key, StoredText.MaxIndexedLength, required: true)
            ?? StoredText.Problem("recordingContentType", recording.ContentType, StoredText.MaxShortTextLength)
            ?? StoredText.Problem("recordingChannelType", recording.ChannelType, StoredText.MaxShortTextLength)
            ?? StoredText.Problem("recordingFormatType", recording.FormatType, StoredText.MaxShortTextLength)
            ?? StoredText.Problem("sessionEndReason", recording.SessionEndReason, StoredText.MaxShortTextLength);
        return (problem is null ? recording : null, problem);
    }

    private (List<ChunkRequest> Chunks, List<string> Problems) ToChunks(IncomingEvent incoming, RecordingInfo recording, IReadOnlyList<AcsRecordingChunkInfoProperties> chunkInfos)
    {
        var acs = acsOptions.CurrentValue;
        var endpoint = AcsConnectionString.TryParse(acs.ConnectionString, out var credential, out _) ? credential.Endpoint : null;
        AcsHostAllowList? allowList = null;
        try
        {
            allowList = new AcsHostAllowList(acs.AllowedHosts);
        }
        catch (ArgumentException)
        {
            // Options validation reports a bad entry at start-up; here every GA location is then refused.
        }

        var chunks = new List<ChunkRequest>();
        var problems = new List<string>();
        for (var position = 0; position < chunkInfos.Count; position++)
        {
            var info = chunkInfos[position];
            if (info is null || !RecordingDocumentId.IsValid(info.DocumentId))
            {
                Log.InvalidDocumentId(logger, incoming.Id);
                problems.Add($"Chunk {position}: the documentId is not a valid ACS document id (1-{RecordingDocumentId.MaxLength} characters of letters, digits, '-', '_', '.').");
                continue;
            }

            var textProblem = StoredText.Problem("endReason", info.EndReason, StoredText.MaxShortTextLength)
                ?? StoredText.Problem("contentLocation", info.ContentLocation, StoredText.MaxLocationLength)
                ?? StoredText.Problem("metadataLocation", info.MetadataLocation, StoredText.MaxLocationLength)
                ?? StoredText.Problem("deleteLocation", info.DeleteLocation, StoredText.MaxLocationLength);
            if (textProblem is not null)
            {
                problems.Add($"Chunk {position} ({info.DocumentId}): {textProblem}");
                continue;
            }

            var content = ParseLocation(info.ContentLocation);
            var metadata = ParseLocation(info.MetadataLocation);
            var delete = ParseLocation(info.DeleteLocation);
            string? rejected = null;

            // Media and metadata that ACS exported to a configured container are read there with CallVault's own
            // storage credential, never with the ACS key, so they need no ACS host; anything else does.
            var exported = exportedBlobs?.Match(content) is { } exportedMedia && exportedBlobs.Match(metadata) is { } exportedMetadata
                && exportedMedia.Container == exportedMetadata.Container;
            foreach (var location in exported ? new[] { delete } : [content, metadata, delete])
            {
                if (location is not null && (allowList is null || !allowList.IsAllowed(location, endpoint, out _)))
                {
                    rejected = $"Refused: {location.Scheme}://{location.Authority} is not an allowed ACS host, so no credentials were sent to it.";
                    break;
                }
            }

            if ((content is null) != (metadata is null))
            {
                rejected ??= "Refused: the event gives only one of contentLocation and metadataLocation.";
            }

            // A chunk's media and metadata are its own object: a location naming another document would store that
            // object's bytes as this chunk (and, with DeleteAfterDownload, delete this chunk from ACS unread). A delete
            // location naming another object is no reason to leave the chunk unstored: the worker stores it and
            // deletes nothing.
            foreach (var (name, location) in new[] { ("contentLocation", content), ("metadataLocation", metadata) })
            {
                if (location is not null && RecordingObjectUrl.NamesAnotherObject(location, info.DocumentId))
                {
                    rejected ??= $"Refused: the event's {name} names object {RecordingObjectUrl.ObjectIdOf(location)}, not this chunk's document id {info.DocumentId}.";
                }
            }

            chunks.Add(new ChunkRequest
            {
                DocumentId = info.DocumentId,
                Recording = recording,
                Index = info.Index ?? 0,
                EndReason = info.EndReason,
                ContentLocation = content,
                MetadataLocation = metadata,
                DeleteLocation = delete,
                EventTime = incoming.Time,
                RejectedReason = rejected,
            });
        }

        return (chunks, problems);
    }

    /// <summary>
    /// The recording's key, one per recording. A subject without a recording id names only the call, and one call can be
    /// recorded several times (stop, then start), each recording with its own chunk 0: the recording's start time tells
    /// them apart, and lacking that the event id does (every chunk then still gets a path of its own).
    /// </summary>
    private static string RecordingKey(RecordingSubject subject, DateTimeOffset? startTime, string eventId)
    {
        if (subject.RecordingId is { } recordingId)
        {
            return RecordingLayout.Segment(recordingId);
        }

        var call = subject.ServerCallId ?? subject.CallId;
        var recording = startTime is { } start ? start.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) : $"event-{eventId}";
        return RecordingLayout.Segment(call is null ? $"event-{eventId}" : $"{call}@{recording}");
    }

    private static Uri? ParseLocation(string? text) =>
        !string.IsNullOrWhiteSpace(text) && Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : null;

    private sealed record IncomingEvent(string Id, string Type, string? Topic, string? Subject, DateTimeOffset Time, BinaryData? Data, object Source);

    /// <summary>What the events of one delivery came to, so far.</summary>
    private sealed class Collected
    {
        public List<AcceptedEvent> Accepted { get; } = [];

        public Dictionary<string, int> Ignored { get; } = new(StringComparer.Ordinal);

        public List<IntakeRejection> Rejected { get; } = [];

        public int InvalidChunks { get; set; }

        public string? ValidationCode { get; set; }

        public void Reject(ILogger logger, int index, string? eventId, string? eventType, string reason, string rawJson)
        {
            // An id is logged cut short: a refused id may be megabytes long.
            Log.EventRejected(logger, index, eventId is { Length: > StoredText.MaxIndexedLength } ? eventId[..StoredText.MaxIndexedLength] + "…" : eventId, reason);
            Rejected.Add(new IntakeRejection(index, eventId, eventType, reason, rawJson));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a validation request from a topic that is not configured: {Topic}")]
        public static partial void ValidationFromForeignTopic(ILogger logger, string? topic);

        [LoggerMessage(2, LogLevel.Warning, "Refused event {Index} ({EventId}) of a delivery, kept as a rejected event: {Reason}")]
        public static partial void EventRejected(ILogger logger, int index, string? eventId, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Event {EventId} has a chunk whose documentId is not a valid ACS document id; that chunk is ignored")]
        public static partial void InvalidDocumentId(ILogger logger, string eventId);

        [LoggerMessage(4, LogLevel.Warning, "The SDK could not read the data of event {EventId}")]
        public static partial void UnreadableData(ILogger logger, string eventId, Exception exception);
    }
}

/// <summary>What to do with a delivery.</summary>
public abstract record IntakeResult
{
    private IntakeResult()
    {
    }

    /// <summary>Answer the validation handshake with this code (the delivery held nothing else to record).</summary>
    /// <param name="Code">The validation code to echo.</param>
    public sealed record Validation(string Code) : IntakeResult;

    /// <summary>Refuse the delivery.</summary>
    /// <param name="Status">400 for a body that can never succeed, 403 for a foreign validation.</param>
    /// <param name="Message">Why, for the response body.</param>
    public sealed record Refused(int Status, string Message) : IntakeResult;

    /// <summary>Events to record.</summary>
    /// <param name="Accepted">The recording events and their chunks.</param>
    /// <param name="Ignored">Other events, counted by type.</param>
    /// <param name="InvalidChunks">Chunks skipped because they could not be read.</param>
    /// <param name="Rejected">Events (or parts of events) refused on their own, to be kept as rejected events.</param>
    /// <param name="ValidationCode">A validation code to echo as well, when a validation event came inside a batch.</param>
    public sealed record Events(
        IReadOnlyList<AcceptedEvent> Accepted,
        IReadOnlyDictionary<string, int> Ignored,
        int InvalidChunks,
        IReadOnlyList<IntakeRejection> Rejected,
        string? ValidationCode = null) : IntakeResult;
}

/// <summary>A recording event accepted from a delivery.</summary>
/// <param name="EventId">The event id, for deduplication.</param>
/// <param name="EventType">The event type.</param>
/// <param name="Chunks">Its chunks.</param>
public sealed record AcceptedEvent(string EventId, string EventType, IReadOnlyList<ChunkRequest> Chunks);

/// <summary>An event of a delivery refused on its own.</summary>
/// <param name="Index">Its position in the delivery, from 0 (its id may be missing or unusable).</param>
/// <param name="EventId">Its id, if readable.</param>
/// <param name="EventType">Its type, if readable.</param>
/// <param name="Reason">Why.</param>
/// <param name="RawJson">The element as received.</param>
public sealed record IntakeRejection(int Index, string? EventId, string? EventType, string Reason, string RawJson);

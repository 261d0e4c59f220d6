using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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
public sealed partial class WebhookIntake(
    IOptionsMonitor<CallVaultOptions> options,
    IOptionsMonitor<AcsClientOptions> acsOptions,
    ILogger<WebhookIntake> logger)
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
            var expected = Encoding.UTF8.GetBytes(secret);
            matched |= querySecret is not null && CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(querySecret));
            matched |= headerSecret is not null && CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(headerSecret));
        }

        return matched;
    }

    /// <summary>Parses a delivery body.</summary>
    /// <param name="body">The raw body.</param>
    /// <param name="contentType">The request's content type; <c>application/cloudevents*</c> selects CloudEvents.</param>
    public IntakeResult Parse(BinaryData body, string? contentType)
    {
        ArgumentNullException.ThrowIfNull(body);
        IReadOnlyList<IncomingEvent> events;
        try
        {
            using (var document = JsonDocument.Parse(body))
            {
                if (document.RootElement.ValueKind is not (JsonValueKind.Array or JsonValueKind.Object))
                {
                    return new IntakeResult.Refused(400, "The body must be a JSON array of events or one event object.");
                }
            }

            events = IsCloudEvents(contentType, body) ? ParseCloudEvents(body) : ParseEventGridEvents(body);
        }
        catch (JsonException ex)
        {
            return new IntakeResult.Refused(400, $"The body is not valid JSON: {ex.Message}");
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            return new IntakeResult.Refused(400, $"The body is neither Event Grid events nor CloudEvents: {ex.Message}");
        }

        var accepted = new List<AcceptedEvent>();
        var ignored = new Dictionary<string, int>(StringComparer.Ordinal);
        var invalidChunks = 0;
        foreach (var incoming in events)
        {
            if (incoming.Type.Equals(SystemEventNames.EventGridSubscriptionValidation, StringComparison.OrdinalIgnoreCase))
            {
                if (!IsAllowedTopic(incoming.Topic))
                {
                    Log.ValidationFromForeignTopic(logger, incoming.Topic);
                    return new IntakeResult.Refused(403, "Validation refused: the topic is not one of the configured ACS resources.");
                }

                var code = ValidationCode(incoming.Data);
                return code is null
                    ? new IntakeResult.Refused(400, "The validation event has no validationCode.")
                    : new IntakeResult.Validation(code);
            }

            if (!incoming.Type.Equals(SystemEventNames.AcsRecordingFileStatusUpdated, StringComparison.OrdinalIgnoreCase) || !IsAllowedTopic(incoming.Topic))
            {
                var label = IsAllowedTopic(incoming.Topic) ? incoming.Type : "(foreign topic)";
                ignored[label] = ignored.GetValueOrDefault(label) + 1;
                continue;
            }

            var (chunks, invalid) = ToChunks(incoming);
            invalidChunks += invalid;
            accepted.Add(new AcceptedEvent(incoming.Id, incoming.Type, chunks));
        }

        return new IntakeResult.Events(accepted, ignored, invalidChunks);
    }

    private static bool IsCloudEvents(string? contentType, BinaryData body)
    {
        if (contentType?.StartsWith("application/cloudevents", StringComparison.OrdinalIgnoreCase) == true)
        {
            return true;
        }

        // Tolerate a CloudEvents body sent as plain application/json: look for specversion.
        var span = body.ToMemory().Span;
        return span.IndexOf("\"specversion\""u8) >= 0 && span.IndexOf("\"eventType\""u8) < 0;
    }

    private static List<IncomingEvent> ParseEventGridEvents(BinaryData body) =>
        [.. EventGridEvent.ParseMany(body).Select(e => new IncomingEvent(e.Id, e.EventType, e.Topic, e.Subject, e.EventTime, e.Data, e))];

    private static List<IncomingEvent> ParseCloudEvents(BinaryData body) =>
        [.. CloudEvent.ParseMany(body).Select(e => new IncomingEvent(e.Id, e.Type, e.Source, e.Subject, e.Time ?? DateTimeOffset.MinValue, e.Data, e))];

    private static string? ValidationCode(BinaryData? data)
    {
        if (data is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(data);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("validationCode", out var code)
            && code.ValueKind == JsonValueKind.String
            ? code.GetString()
            : null;
    }

    private bool IsAllowedTopic(string? topic)
    {
        var allowed = options.CurrentValue.Webhook.AllowedTopics;
        return allowed.Count == 0 || (topic is not null && allowed.Any(a => a.Equals(topic, StringComparison.OrdinalIgnoreCase)));
    }

    private (List<ChunkRequest> Chunks, int Invalid) ToChunks(IncomingEvent incoming)
    {
        AcsRecordingFileStatusUpdatedEventData? data = null;
        var parsed = incoming.Source switch
        {
            EventGridEvent eg => eg.TryGetSystemEventData(out var d) && (data = d as AcsRecordingFileStatusUpdatedEventData) is not null,
            CloudEvent ce => ce.TryGetSystemEventData(out var d) && (data = d as AcsRecordingFileStatusUpdatedEventData) is not null,
            _ => false,
        };
        if (!parsed || data?.RecordingStorageInfo?.RecordingChunks is not { } chunkInfos)
        {
            Log.EventWithoutChunks(logger, incoming.Id);
            return ([], 1);
        }

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
        var invalid = 0;
        foreach (var info in chunkInfos)
        {
            if (!RecordingDocumentId.IsValid(info.DocumentId))
            {
                Log.InvalidDocumentId(logger, incoming.Id);
                invalid++;
                continue;
            }

            var content = ParseLocation(info.ContentLocation);
            var metadata = ParseLocation(info.MetadataLocation);
            var delete = ParseLocation(info.DeleteLocation);
            string? rejected = null;
            foreach (var location in new[] { content, metadata, delete })
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

        return (chunks, invalid);
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a validation request from a topic that is not configured: {Topic}")]
        public static partial void ValidationFromForeignTopic(ILogger logger, string? topic);

        [LoggerMessage(2, LogLevel.Warning, "Event {EventId} is a RecordingFileStatusUpdated without readable chunks; ignored")]
        public static partial void EventWithoutChunks(ILogger logger, string eventId);

        [LoggerMessage(3, LogLevel.Warning, "Event {EventId} has a chunk whose documentId is not a valid ACS document id; that chunk is ignored")]
        public static partial void InvalidDocumentId(ILogger logger, string eventId);
    }
}

/// <summary>What to do with a delivery.</summary>
public abstract record IntakeResult
{
    private IntakeResult()
    {
    }

    /// <summary>Answer the validation handshake with this code.</summary>
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
    public sealed record Events(IReadOnlyList<AcceptedEvent> Accepted, IReadOnlyDictionary<string, int> Ignored, int InvalidChunks) : IntakeResult;
}

/// <summary>A recording event accepted from a delivery.</summary>
/// <param name="EventId">The event id, for deduplication.</param>
/// <param name="EventType">The event type.</param>
/// <param name="Chunks">Its chunks.</param>
public sealed record AcceptedEvent(string EventId, string EventType, IReadOnlyList<ChunkRequest> Chunks);

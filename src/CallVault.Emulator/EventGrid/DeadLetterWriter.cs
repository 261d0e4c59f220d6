using System.Globalization;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;

namespace CallVault.Emulator.EventGrid;

/// <summary>
/// Writes events a subscription gave up on into its dead-letter container the way Event Grid does: one blob per
/// batch named <c>{SUBSCRIPTION-NAME}/{yyyy}/{M}/{d}/{H}/{guid}.json</c> (UTC, no zero padding), holding a JSON array
/// of the events in the subscription's schema with the dead-letter fields added (lower-case names for CloudEvents).
/// </summary>
internal static class DeadLetterWriter
{
    /// <summary>Event Grid writes a dead-letter blob about this long after the last attempt (scaled by the time factor).</summary>
    public static readonly TimeSpan WriteDelay = TimeSpan.FromMinutes(5);

    /// <summary>The blob name for a dead-letter written at <paramref name="time"/>.</summary>
    public static string BlobName(string subscription, DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return string.Create(CultureInfo.InvariantCulture, $"{subscription.ToUpperInvariant()}/{utc.Year}/{utc.Month}/{utc.Day}/{utc.Hour}/{Guid.NewGuid()}.json");
    }

    /// <summary>The blob's content: the events with the dead-letter fields.</summary>
    public static string Content(EventSchema schema, IReadOnlyList<RecordingEvent> batch, DeadLetterFields fields)
    {
        var events = new JsonArray();
        foreach (var e in batch)
        {
            var json = schema == EventSchema.CloudEvents ? RecordingEventFactory.ToCloudEventSchema(e) : RecordingEventFactory.ToEventGridSchema(e);
            var cloud = schema == EventSchema.CloudEvents;
            json[Name("deadLetterReason", cloud)] = fields.Reason;
            json[Name("deliveryAttempts", cloud)] = fields.DeliveryAttempts;
            json[Name("lastDeliveryOutcome", cloud)] = fields.LastDeliveryOutcome;
            json[Name("lastHttpStatusCode", cloud)] = fields.LastHttpStatusCode;
            json[Name("publishTime", cloud)] = fields.PublishTime.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            json[Name("lastDeliveryAttemptTime", cloud)] = fields.LastDeliveryAttemptTime.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
            events.Add(json);
        }

        return events.ToJsonString();

        // CloudEvents extension attributes are lower-case alphanumerics.
        static string Name(string name, bool cloud) => cloud ? name.ToLowerInvariant() : name;
    }

    /// <summary>Uploads the blob, creating the container when missing.</summary>
    public static async Task WriteAsync(DeadLetterDestinationSpec destination, string blobName, string content, CancellationToken cancellationToken)
    {
        var container = new BlobContainerClient(destination.ConnectionString, destination.ContainerName);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await container.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(content), overwrite: false, cancellationToken);
    }
}

/// <summary>The fields Event Grid adds to a dead-lettered event.</summary>
/// <param name="Reason"><c>MaxDeliveryAttemptsExceeded</c>, <c>TimeToLiveExceeded</c>, <c>UndeliverableDueToHttpBadRequest</c>, ….</param>
/// <param name="DeliveryAttempts">Attempts made.</param>
/// <param name="LastDeliveryOutcome">How the last attempt ended (<c>Busy</c>, <c>BadRequest</c>, <c>TimedOut</c>, …).</param>
/// <param name="LastHttpStatusCode">The last status answered, 0 when there was no answer.</param>
/// <param name="PublishTime">When the events were published.</param>
/// <param name="LastDeliveryAttemptTime">When the last attempt was made.</param>
internal sealed record DeadLetterFields(string Reason, int DeliveryAttempts, string LastDeliveryOutcome, int LastHttpStatusCode, DateTimeOffset PublishTime, DateTimeOffset LastDeliveryAttemptTime);

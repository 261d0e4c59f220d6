using CallVault.Acs.Recordings;
using CallVault.Emulator.EventGrid;
using CallVault.Emulator.Faults;
using CallVault.Emulator.Recordings;
using CallVault.Emulator.Storage;

namespace CallVault.Emulator.Admin;

/// <summary>The emulator's control API under <c>/admin</c> on the endpoint host: record calls, subscribe webhooks, inject faults, inspect deliveries.</summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder routes, EmulatorContext emulator, Func<RecordingSpec, EmulatedRecording> record)
    {
        var admin = routes.MapGroup("/admin");
        admin.MapGet("/", () => Results.Ok(new
        {
            endpoint = emulator.Endpoint.AbsoluteUri,
            storage = emulator.StorageBase.AbsoluteUri,
            recordings = emulator.Recordings.All.Count,
            subscriptions = emulator.EventGrid.Subscriptions.Count,
            pendingDeliveries = emulator.EventGrid.PendingDeliveries,
            bytesSent = emulator.BytesSent,
            link = emulator.Link,
            timeFactor = emulator.Options.TimeFactor,
        }));

        admin.MapPost("/recordings", (RecordingSpec spec) =>
        {
            try
            {
                var recording = record(spec);
                var eventIds = spec.Publish ? emulator.EventGrid.Publish(recording) : [];
                return Results.Created($"/admin/recordings/{recording.RecordingId}", View(recording, emulator, eventIds));
            }
            catch (EmulatorRequestException ex)
            {
                return Problem(ex.Message);
            }
        });
        admin.MapGet("/recordings", () => Results.Ok(emulator.Recordings.All.Select(r => View(r, emulator, []))));
        admin.MapGet("/recordings/{recordingId}", (string recordingId) =>
            emulator.Recordings.Find(recordingId) is { } recording ? Results.Ok(View(recording, emulator, [])) : Results.NotFound());
        admin.MapPost("/recordings/{recordingId}/publish", (string recordingId, bool? newEventIds) =>
            emulator.Recordings.Find(recordingId) is { } recording
                ? Results.Accepted(value: new { eventIds = emulator.EventGrid.Publish(recording, republish: newEventIds != true) })
                : Results.NotFound());

        admin.MapPost("/subscriptions", async (SubscriptionSpec spec, CancellationToken cancellationToken) =>
        {
            try
            {
                var subscription = await emulator.EventGrid.SubscribeAsync(spec, cancellationToken);
                return subscription.State == SubscriptionState.Failed
                    ? Problem(subscription.Error ?? "The validation handshake failed.")
                    : Results.Created($"/admin/subscriptions/{subscription.Id}", SubscriptionView(subscription));
            }
            catch (EmulatorRequestException ex)
            {
                return Problem(ex.Message);
            }
        });
        admin.MapGet("/subscriptions", () => Results.Ok(emulator.EventGrid.Subscriptions.Select(SubscriptionView)));
        admin.MapDelete("/subscriptions/{id}", (string id) => emulator.EventGrid.Unsubscribe(id) ? Results.NoContent() : Results.NotFound());
        admin.MapGet("/subscriptions/{id}/validate", (string id, string? code) =>
            emulator.EventGrid.CompleteManualValidation(id, code)
                ? Results.Ok(new { message = "Webhook successfully validated; the subscription is active." })
                : Results.BadRequest(new { message = "Unknown subscription, wrong code, or the validation URL expired." }));

        admin.MapGet("/bytes-sent", () => Results.Ok(emulator.MediaTransfers.Snapshot().ToDictionary(pair => pair.Key, pair => TransferView(pair.Value), StringComparer.Ordinal)));
        admin.MapGet("/bytes-sent/{documentId}", (string documentId) =>
            emulator.MediaTransfers.Find(documentId) is { } transfer ? Results.Ok(TransferView(transfer)) : Results.NotFound());

        admin.MapGet("/deliveries", () => Results.Ok(emulator.EventGrid.Attempts));
        admin.MapGet("/dead-letters", () => Results.Ok(emulator.EventGrid.DeadLetters));

        admin.MapPost("/faults", (FaultRule rule) =>
        {
            if (rule.Probability is < 0 or > 1 || rule.Count < 0)
            {
                return Problem("probability must be between 0 and 1, and count at least 0 (0: no limit).");
            }

            emulator.Faults.Add(rule);
            return Results.Created("/admin/faults", rule);
        });
        admin.MapGet("/faults", () => Results.Ok(emulator.Faults.Rules));
        admin.MapDelete("/faults", () =>
        {
            emulator.Faults.Clear();
            return Results.NoContent();
        });

        admin.MapPost("/external-storage", (ExternalStorageAccountSpec spec) =>
        {
            try
            {
                return Results.Ok(new { accountUrl = emulator.ExternalStorage.Register(spec).AbsoluteUri, failExports = spec.FailExports });
            }
            catch (EmulatorRequestException ex)
            {
                return Problem(ex.Message);
            }
        });

        admin.MapGet("/link", () => Results.Ok(emulator.Link));
        admin.MapPut("/link", (LinkShape link) =>
        {
            if (link.BandwidthBytesPerSecond < 0 || link.TotalBandwidthBytesPerSecond < 0 || link.LatencyMilliseconds < 0)
            {
                return Problem("bandwidthBytesPerSecond, totalBandwidthBytesPerSecond and latencyMilliseconds must not be negative.");
            }

            emulator.Link = link;
            return Results.Ok(link);
        });
        return routes;
    }

    private static IResult Problem(string detail) => Results.Problem(detail, statusCode: 400, title: "The emulator cannot do that.");

    private static object SubscriptionView(Subscription s) => new
    {
        id = s.Id,
        name = s.Spec.Name,
        schema = s.Spec.Schema,
        state = s.State,
        error = s.Error,
        validationUrl = s.State == SubscriptionState.AwaitingManualAction ? s.ValidationUrl.AbsoluteUri : null,
        deadLetterContainer = s.Spec.DeadLetter?.ContainerName,
    };

    private static object TransferView(MediaTransfer transfer) => new
    {
        mediaBytesSent = transfer.MediaBytesSent,
        size = transfer.Size,
        requests = transfer.Requests,
        requestsInFlight = transfer.RequestsInFlight,
        bytesInResponsesCutByFaults = transfer.BytesInResponsesCutByFaults,
        bytesInAbortedResponses = transfer.BytesInAbortedResponses,
        excessBytes = transfer.ExcessBytes,
    };

    private static object View(EmulatedRecording recording, EmulatorContext emulator, IReadOnlyList<string> eventIds) => new
    {
        recordingId = recording.RecordingId,
        callId = recording.CallId,
        serverCallId = recording.ServerCallId,
        subject = recording.Subject,
        contentType = recording.ContentType,
        channelType = recording.ChannelType,
        format = recording.Format,
        durationMs = (long)recording.Duration.TotalMilliseconds,
        participants = recording.Participants,
        expiresAt = recording.ExpiresAt,
        eventIds,
        export = recording.Export is { } export
            ? new { state = export.State, containerUrl = export.ContainerUrl, error = export.Error }
            : null,
        chunks = recording.Chunks.Select(c => new
        {
            documentId = c.DocumentId,
            index = c.Index,
            endReason = c.EndReason,
            contentLocation = emulator.ContentLocation(c).AbsoluteUri,
            metadataLocation = emulator.MetadataLocation(c).AbsoluteUri,
            deleteLocation = emulator.DeleteLocation(c).AbsoluteUri,
            previewContentLocation = AcsRecordingClient.GetPreviewContentLocation(emulator.Endpoint, c.DocumentId).AbsoluteUri,
            previewMetadataLocation = AcsRecordingClient.GetPreviewMetadataLocation(emulator.Endpoint, c.DocumentId).AbsoluteUri,
            mediaType = c.Media.ContentType,
            sizeBytes = c.Media.Length,
            sha256 = c.Sha256,
            deleted = emulator.Recordings.IsDeleted(c.DocumentId),
            mediaBytesSent = emulator.MediaTransfers.Find(c.DocumentId)?.MediaBytesSent ?? 0,
        }),
    };
}

using CallVault.Diagnostics;
using CallVault.Events;
using CallVault.Jobs;
using CallVault.Processing;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Webhook;

/// <summary>
/// <c>POST /api/events</c> and <c>OPTIONS /api/events</c>: the Event Grid webhook. A delivery is answered 200 only
/// after its chunks are committed to the job store and its unusable events are kept as rejected events; a store
/// failure, or a commit queue that stays full, answers 503 so Event Grid retries.
/// </summary>
/// <remarks>
/// Status codes: 200 when every event was committed, ignored or refused and kept (the body lists the refused ones
/// under <c>rejected</c>); 400 only when the body is not JSON or its root is neither an array nor an object (Event
/// Grid dead-letters or drops it without retrying; it never sends such a body itself); 401 without the secret; 403
/// for a validation from a topic that is not configured; 413 for a body over the limit; 503 when the database fails
/// or is too busy.
/// </remarks>
internal static partial class EventGridWebhookEndpoints
{
    public static IEndpointRouteBuilder MapEventGridWebhook(this IEndpointRouteBuilder routes)
    {
        // The secret is checked by the group's filter, so no handler added here can forget it.
        var webhook = routes.MapGroup("/api/events")
            .WithTags("Webhook")
            .AddEndpointFilter<WebhookSecretFilter>()
            // Event Grid presents no API key: the webhook's own secret (the filter above) is its authentication.
            .AllowAnonymous()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        webhook.MapPost("", ReceiveAsync).DisableAntiforgery()
            .WithSummary("The Event Grid webhook: a delivery of recording events (Event Grid or CloudEvents schema), or a validation.");
        webhook.MapMethods("", ["OPTIONS"], Handshake)
            .WithSummary("The CloudEvents abuse-protection handshake.");
        return routes;
    }

    private static Ok Handshake(HttpContext context)
    {
        // CloudEvents abuse protection: consent by echoing the origin, with no rate limit.
        var origin = context.Request.Headers["WebHook-Request-Origin"].ToString();
        context.Response.Headers.Allow = "POST, OPTIONS";
        if (!string.IsNullOrEmpty(origin))
        {
            context.Response.Headers["WebHook-Allowed-Origin"] = origin;
            context.Response.Headers["WebHook-Allowed-Rate"] = "*";
        }

        return TypedResults.Ok();
    }

    private static async Task<Results<Ok<ValidationAnswer>, Ok<DeliveryAnswer>, DeliveryRefusedProblem, PayloadTooLargeProblem, ServiceUnavailableProblem>> ReceiveAsync(
        HttpContext context,
        WebhookIntake intake,
        GroupCommitEnqueuer enqueuer,
        IRejectedEventStore rejectedEvents,
        JobSignal signal,
        CallVaultMetrics metrics,
        IOptionsMonitor<CallVaultOptions> options,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("CallVault.Webhook");
        var webhook = options.CurrentValue.Webhook;
        var body = await ReadBodyAsync(context, webhook.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return new PayloadTooLargeProblem($"The delivery is larger than {webhook.MaxBodyBytes} bytes.");
        }

        switch (intake.Parse(body, context.Request.ContentType))
        {
            case IntakeResult.Validation validation:
                Log.Validated(logger);
                return TypedResults.Ok(new ValidationAnswer(validation.Code));
            case IntakeResult.Refused refused:
                Log.Refused(logger, refused.Status, refused.Message);
                return new DeliveryRefusedProblem(refused.Status, refused.Message);
            case IntakeResult.Events events:
                var added = 0;
                try
                {
                    // Refused events are kept before the delivery is acknowledged; a redelivery records them again as
                    // one record (seen twice), so recording them first and failing later loses nothing.
                    if (events.Rejected.Count > 0)
                    {
                        await rejectedEvents.RecordAsync(
                            [.. events.Rejected.Select(r => new RejectedEvent(r.EventId, r.EventType, r.Reason, r.RawJson, context.TraceIdentifier))],
                            cancellationToken);
                    }

                    // The usable events in one transaction, shared with deliveries arriving meanwhile (group commit).
                    var batch = events.Accepted.Select(e => new EventChunks(e.EventId, e.Chunks)).ToList();
                    added = (await enqueuer.EnqueueAsync(batch, cancellationToken)).NewChunks;
                }
                catch (GroupCommitQueueFullException ex)
                {
                    // Busy, not broken: Event Grid retries a 503 after at least 30 seconds.
                    Log.QueueFull(logger, ex.Message);
                    return new ServiceUnavailableProblem("The service is busy (its commit queue is full); try again later.", RetryAfterSeconds: 30);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Nothing is acknowledged that is not committed: Event Grid retries a 503.
                    Log.EnqueueFailed(logger, ex);
                    return new ServiceUnavailableProblem("The delivery could not be stored; try again.", RetryAfterSeconds: 10);
                }

                signal.Notify(added);
                foreach (var accepted in events.Accepted)
                {
                    metrics.EventReceived(accepted.EventType);
                }

                foreach (var (type, count) in events.Ignored)
                {
                    metrics.EventReceived(type, count);
                }

                if (events.Rejected.Count > 0)
                {
                    metrics.EventReceived(CallVaultMetrics.RejectedEventLabel, events.Rejected.Count);
                }

                Log.Accepted(logger, events.Accepted.Count, added, events.Ignored.Values.Sum(), events.InvalidChunks, events.Rejected.Count);

                // 200 even when every event was refused: the refusals are durably kept, and a retry could never
                // succeed. The body says what was refused, by position (an unusable event may have no usable id).
                var rejected = events.Rejected.Select(r => new RejectedAnswer(r.Index, r.EventId, r.Reason)).ToList();
                return TypedResults.Ok(new DeliveryAnswer(events.Accepted.Count, added, events.Ignored.Values.Sum(), events.InvalidChunks, rejected, events.ValidationCode));
            default:
                throw new InvalidOperationException("Unknown intake result.");
        }
    }

    /// <summary>Reads the body, or returns null when it is larger than the limit, whatever Content-Length claims.</summary>
    private static async Task<BinaryData?> ReadBodyAsync(HttpContext context, int limit, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit + 1L;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }

        return BinaryData.FromBytes(buffer.ToArray());
    }

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Information, "Answered an Event Grid subscription validation")]
        public static partial void Validated(ILogger logger);

        [LoggerMessage(3, LogLevel.Warning, "Refused a webhook delivery with {Status}: {Reason}")]
        public static partial void Refused(ILogger logger, int status, string reason);

        [LoggerMessage(4, LogLevel.Error, "Could not commit a delivery; answered 503 so Event Grid retries")]
        public static partial void EnqueueFailed(ILogger logger, Exception exception);

        [LoggerMessage(5, LogLevel.Information, "Accepted {Events} recording event(s): {NewChunks} new chunk(s), {Ignored} other event(s) ignored, {Invalid} unreadable chunk(s), {Rejected} event(s) refused and kept as rejected")]
        public static partial void Accepted(ILogger logger, int events, int newChunks, int ignored, int invalid, int rejected);

        [LoggerMessage(6, LogLevel.Warning, "Answered 503 to a delivery: {Reason}")]
        public static partial void QueueFull(ILogger logger, string reason);
    }
}

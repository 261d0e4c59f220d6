using CallVault.Diagnostics;
using CallVault.Events;
using CallVault.Jobs;
using CallVault.Processing;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Webhook;

/// <summary>
/// <c>POST /api/events</c> and <c>OPTIONS /api/events</c>: the Event Grid webhook. A delivery is answered 200 only
/// after its chunks are committed to the job store; a store failure answers 503 so Event Grid retries.
/// </summary>
internal static partial class EventGridWebhookEndpoints
{
    public static IEndpointRouteBuilder MapEventGridWebhook(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/events", ReceiveAsync).DisableAntiforgery();
        routes.MapMethods("/api/events", ["OPTIONS"], Handshake);
        return routes;
    }

    private static IResult Handshake(HttpContext context, WebhookIntake intake, IOptionsMonitor<CallVaultOptions> options)
    {
        if (!Authenticated(context, intake, options.CurrentValue.Webhook))
        {
            return Unauthorized();
        }

        // CloudEvents abuse protection: consent by echoing the origin, with no rate limit.
        var origin = context.Request.Headers["WebHook-Request-Origin"].ToString();
        context.Response.Headers.Allow = "POST, OPTIONS";
        if (!string.IsNullOrEmpty(origin))
        {
            context.Response.Headers["WebHook-Allowed-Origin"] = origin;
            context.Response.Headers["WebHook-Allowed-Rate"] = "*";
        }

        return Results.Ok();
    }

    private static async Task<IResult> ReceiveAsync(
        HttpContext context,
        WebhookIntake intake,
        GroupCommitEnqueuer enqueuer,
        JobSignal signal,
        CallVaultMetrics metrics,
        IOptionsMonitor<CallVaultOptions> options,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("CallVault.Webhook");
        var webhook = options.CurrentValue.Webhook;
        if (!Authenticated(context, intake, webhook))
        {
            Log.Unauthorized(logger, context.Connection.RemoteIpAddress?.ToString());
            return Unauthorized();
        }

        var body = await ReadBodyAsync(context, webhook.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return Results.Problem($"The delivery is larger than {webhook.MaxBodyBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        switch (intake.Parse(body, context.Request.ContentType))
        {
            case IntakeResult.Validation validation:
                Log.Validated(logger);
                return Results.Ok(new { validationResponse = validation.Code });
            case IntakeResult.Refused refused:
                Log.Refused(logger, refused.Status, refused.Message);
                return Results.Problem(refused.Message, statusCode: refused.Status);
            case IntakeResult.Events events:
                var added = 0;
                try
                {
                    // The whole delivery in one transaction, shared with deliveries arriving meanwhile (group commit).
                    var batch = events.Accepted.Select(e => new EventChunks(e.EventId, e.Chunks)).ToList();
                    added = (await enqueuer.EnqueueAsync(batch, cancellationToken)).NewChunks;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Nothing is acknowledged that is not committed: Event Grid retries a 503.
                    Log.EnqueueFailed(logger, ex);
                    context.Response.Headers.RetryAfter = "10";
                    return Results.Problem("The delivery could not be stored; try again.", statusCode: StatusCodes.Status503ServiceUnavailable);
                }

                signal.Notify(added);
                foreach (var accepted in events.Accepted)
                {
                    metrics.EventsReceived.Add(1, new KeyValuePair<string, object?>("type", accepted.EventType));
                }

                foreach (var (type, count) in events.Ignored)
                {
                    metrics.EventsReceived.Add(count, new KeyValuePair<string, object?>("type", type));
                }

                Log.Accepted(logger, events.Accepted.Count, added, events.Ignored.Values.Sum(), events.InvalidChunks);
                return Results.Ok(new { accepted = events.Accepted.Count, newChunks = added, ignored = events.Ignored.Values.Sum(), invalidChunks = events.InvalidChunks });
            default:
                throw new InvalidOperationException("Unknown intake result.");
        }
    }

    private static bool Authenticated(HttpContext context, WebhookIntake intake, WebhookOptions webhook) => intake.IsAuthenticated(
        context.Request.Query[webhook.SecretQueryParameter].FirstOrDefault(),
        context.Request.Headers[webhook.SecretHeader].FirstOrDefault());

    private static IResult Unauthorized() =>
        Results.Problem("The webhook secret is missing or wrong.", statusCode: StatusCodes.Status401Unauthorized);

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
        [LoggerMessage(1, LogLevel.Warning, "Refused a webhook delivery without a valid secret from {RemoteAddress}")]
        public static partial void Unauthorized(ILogger logger, string? remoteAddress);

        [LoggerMessage(2, LogLevel.Information, "Answered an Event Grid subscription validation")]
        public static partial void Validated(ILogger logger);

        [LoggerMessage(3, LogLevel.Warning, "Refused a webhook delivery with {Status}: {Reason}")]
        public static partial void Refused(ILogger logger, int status, string reason);

        [LoggerMessage(4, LogLevel.Error, "Could not commit a delivery; answered 503 so Event Grid retries")]
        public static partial void EnqueueFailed(ILogger logger, Exception exception);

        [LoggerMessage(5, LogLevel.Information, "Accepted {Events} recording event(s): {NewChunks} new chunk(s), {Ignored} other event(s) ignored, {Invalid} unreadable chunk(s)")]
        public static partial void Accepted(ILogger logger, int events, int newChunks, int ignored, int invalid);
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallVault.Events;
using CallVault.Jobs;
using CallVault.Server.Access;
using CallVault.Sessions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Sessions;

/// <summary>
/// <c>POST /api/callbacks</c>: Call Automation's callbacks, a JSON array of CloudEvents (no handshake).
/// <c>RecordingStateChanged</c> and <c>StartRecordingFailed</c> update the session they name; other events are counted
/// and ignored.
/// </summary>
/// <remarks>
/// Status codes: 200 once every usable event is committed (the body counts what each did); 400 for a body that is not
/// JSON; 401, and nothing read, without a valid callback token or secret; 413 for a body over 1 MiB; 503 when the
/// database fails, so that the sender may retry.
/// </remarks>
internal static partial class CallbackEndpoints
{
    private const string StateChanged = "Microsoft.Communication.RecordingStateChanged";
    private const string StartFailed = "Microsoft.Communication.StartRecordingFailed";
    private const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapCallAutomationCallbacks(this IEndpointRouteBuilder routes)
    {
        // Authenticated by its own token or secret, never by an API key or a dashboard cookie.
        routes.MapPost("/api/callbacks", ReceiveAsync).DisableAntiforgery().AllowAnonymous().ExcludeFromDescription();
        return routes;
    }

    private static async Task<IResult> ReceiveAsync(
        HttpContext context,
        IJobStore jobs,
        IOptionsMonitor<RecordingControlOptions> options,
        TimeProvider time,
        ILoggerFactory loggers,
        AccessRefusalLog refusals,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("CallVault.Callbacks");
        if (!await CallbackAuthentication.IsAuthenticAsync(context, options.CurrentValue))
        {
            refusals.CallbackRefused(context.Connection.RemoteIpAddress);
            return Results.Problem("The callback carries no valid Call Automation token (or secret).", statusCode: StatusCodes.Status401Unauthorized);
        }

        var body = await ReadBodyAsync(context, cancellationToken);
        if (body is null)
        {
            return Results.Problem($"The callback is larger than {MaxBodyBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        List<JsonElement> events;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            events = root.ValueKind switch
            {
                JsonValueKind.Array => [.. root.EnumerateArray().Select(e => e.Clone())],
                JsonValueKind.Object => [root.Clone()],
                _ => throw new JsonException("The root is neither an array nor an object."),
            };
        }
        catch (JsonException ex)
        {
            return Results.Problem($"The body is not a JSON array of CloudEvents: {ex.Message}", statusCode: StatusCodes.Status400BadRequest);
        }

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            foreach (var element in events)
            {
                var outcome = await HandleAsync(element, jobs.Sessions, time, cancellationToken);
                counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.StoreFailed(logger, ex);
            context.Response.Headers.RetryAfter = "10";
            return Results.Problem("The callback could not be stored; try again.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        Log.Received(logger, events.Count, string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}")));
        return Results.Ok(new
        {
            applied = counts.GetValueOrDefault("applied"),
            stale = counts.GetValueOrDefault("stale"),
            duplicate = counts.GetValueOrDefault("duplicate"),
            unknown = counts.GetValueOrDefault("unknownSession"),
            ignored = counts.GetValueOrDefault("ignored"),
            invalid = counts.GetValueOrDefault("invalid"),
        });
    }

    /// <summary>Records one event; returns what it did.</summary>
    private static async Task<string> HandleAsync(JsonElement element, IRecordingSessionStore sessions, TimeProvider time, CancellationToken cancellationToken)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return "invalid";
        }

        var type = Text(element, "type");
        if (type is not (StateChanged or StartFailed))
        {
            return "ignored";
        }

        var data = element.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
        if (data.ValueKind != JsonValueKind.Object)
        {
            return "invalid";
        }

        var recordingId = Text(data, "recordingId");
        var serverCallId = Text(data, "serverCallId");
        var state = Text(data, "state");
        var message = data.TryGetProperty("resultInformation", out var result) && result.ValueKind == JsonValueKind.Object ? Text(result, "message") : null;

        // The event's own time orders it among the others; a callback without one is taken as of now.
        var occurredAt = Text(element, "time") is { } t && DateTimeOffset.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : time.GetUtcNow();
        var changeId = Text(element, "id") ?? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(element.GetRawText())));
        if (StoredText.Problem("The recording id", recordingId, StoredText.MaxIndexedLength) is not null
            || StoredText.Problem("The event id", changeId, StoredText.MaxIndexedLength, required: true) is not null
            || StoredText.Problem("The server call id", serverCallId, StoredText.MaxIndexedLength) is not null)
        {
            return "invalid";
        }

        SessionChange change;
        if (type == StateChanged)
        {
            if (recordingId is null || state is null || !(state.Equals("active", StringComparison.OrdinalIgnoreCase) || state.Equals("inactive", StringComparison.OrdinalIgnoreCase)))
            {
                return "invalid";
            }

            change = new SessionChange
            {
                RecordingId = recordingId,
                ChangeId = changeId,
                Source = SessionChangeSource.Callback,
                Actor = "acs",
                OccurredAt = occurredAt,
                ObservedState = state.ToLowerInvariant(),
                ServerCallId = serverCallId,
                Detail = message,
            };
        }
        else
        {
            change = new SessionChange
            {
                RecordingId = recordingId,
                ChangeId = changeId,
                Source = SessionChangeSource.Callback,
                Actor = "acs",
                OccurredAt = occurredAt,
                StartFailed = true,
                ServerCallId = serverCallId,
                Detail = message ?? "Call Automation could not start the recording.",
            };
        }

        var outcome = await sessions.RecordChangeAsync(change, cancellationToken);
        return outcome switch
        {
            SessionChangeOutcome.Applied => "applied",
            SessionChangeOutcome.Stale => "stale",
            SessionChangeOutcome.Duplicate => "duplicate",
            _ => "unknownSession",
        };
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = MaxBodyBytes + 1L;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > MaxBodyBytes)
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

        return buffer.ToArray();
    }

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Error, "Could not record a Call Automation callback; answered 503")]
        public static partial void StoreFailed(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Information, "Recorded a Call Automation callback of {Events} event(s): {Outcomes}")]
        public static partial void Received(ILogger logger, int events, string outcomes);
    }
}

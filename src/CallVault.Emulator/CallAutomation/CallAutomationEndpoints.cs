using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Acs.Authentication;
using CallVault.Emulator.Faults;
using CallVault.Emulator.Recordings;
using Microsoft.AspNetCore.Http.Features;

namespace CallVault.Emulator.CallAutomation;

/// <summary>
/// The Call Automation recording routes on the ACS endpoint (<c>/calling/recordings</c>, get, <c>:pause</c>,
/// <c>:resume</c>, stop), the OpenID configuration and JWKS of the callback tokens, and the admin routes for calls
/// (<c>/admin/calls</c>) and callbacks (<c>/admin/callbacks</c>).
/// </summary>
internal static class CallAutomationEndpoints
{
    /// <summary>The api-versions answered; <c>2026-03-12</c> is what the JavaScript SDK 1.6 sends by default.</summary>
    private static readonly string[] ApiVersions = ["2023-03-06", "2023-10-15", "2024-04-15", "2024-09-15", "2025-05-15", "2026-03-12"];

    /// <summary>The first api-version with <c>pauseOnStart</c>, Bring Your Own Storage and <c>recordingKind</c> in every answer.</summary>
    private const string PauseOnStartVersion = "2024-04-15";

    private const string RecordingsPath = "/calling/recordings";

    public static IEndpointRouteBuilder MapCallAutomation(this IEndpointRouteBuilder routes, EmulatorContext emulator)
    {
        routes.MapGet("/.well-known/openid-configuration", () => Results.Json(emulator.CallAutomation.Tokens.OpenIdConfiguration()));

        // The path ACS itself publishes its Call Automation OpenID configuration at.
        routes.MapGet("/calling/.well-known/acsopenidconfiguration", () => Results.Json(emulator.CallAutomation.Tokens.OpenIdConfiguration()));
        routes.MapGet("/calling/keys", () => Results.Json(emulator.CallAutomation.Tokens.Keys()));

        routes.MapPost(RecordingsPath, context => HandleAsync(emulator, context));
        routes.MapMethods(RecordingsPath + "/{**rest}", ["GET", "POST", "DELETE"], context => HandleAsync(emulator, context));

        var admin = routes.MapGroup("/admin");
        admin.MapPost("/calls", (CallSpec spec) =>
        {
            try
            {
                var call = emulator.CallAutomation.CreateCall(spec);
                return Results.Created($"/admin/calls/{call.ServerCallId}", CallView(emulator, call));
            }
            catch (EmulatorRequestException ex)
            {
                return Results.Problem(ex.Message, statusCode: 400, title: "The emulator cannot do that.");
            }
        });
        admin.MapGet("/calls", () => Results.Ok(emulator.CallAutomation.Calls.Select(c => CallView(emulator, c))));
        admin.MapGet("/calls/{serverCallId}", (string serverCallId) =>
            emulator.CallAutomation.FindCall(serverCallId) is { } call ? Results.Ok(CallView(emulator, call)) : Results.NotFound());
        admin.MapDelete("/calls/{serverCallId}", (string serverCallId) =>
            emulator.CallAutomation.EndCall(serverCallId) ? Results.NoContent() : Results.NotFound());
        admin.MapGet("/callbacks", () => Results.Ok(emulator.CallAutomation.Callbacks));
        return routes;
    }

    private static async Task HandleAsync(EmulatorContext emulator, HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToUriComponent();
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryStart < 0 ? rawTarget : rawTarget[..queryStart];
        var rawQuery = queryStart < 0 ? string.Empty : rawTarget[queryStart..];
        if (Unauthorized(emulator, context, rawPath, rawQuery, body) is { } rejection)
        {
            await WriteErrorAsync(context, 401, "Unauthorized", rejection);
            return;
        }

        var apiVersion = context.Request.Query["api-version"].ToString();
        if (string.IsNullOrEmpty(apiVersion))
        {
            await WriteErrorAsync(context, 400, "MissingApiVersionParameter", "The api-version query parameter is required.");
            return;
        }

        if (!ApiVersions.Contains(apiVersion, StringComparer.Ordinal))
        {
            await WriteErrorAsync(context, 400, "UnsupportedApiVersion", $"api-version '{apiVersion}' is not supported; use one of {string.Join(", ", ApiVersions)}.");
            return;
        }

        try
        {
            if (rawPath == RecordingsPath)
            {
                await StartAsync(emulator, context, body, apiVersion);
                return;
            }

            var rest = rawPath[(RecordingsPath.Length + 1)..];
            var method = context.Request.Method;
            var action = rest.EndsWith(":pause", StringComparison.Ordinal) ? "pause" : rest.EndsWith(":resume", StringComparison.Ordinal) ? "resume" : null;
            var recordingId = Uri.UnescapeDataString(action is null ? rest : rest[..rest.LastIndexOf(':')]);
            if (recordingId.Length == 0 || (method == "POST") != (action is not null))
            {
                await WriteErrorAsync(context, 404, "NotFound", "No such operation.");
                return;
            }

            var fault = emulator.Faults.Take(recordingId, FaultTarget.RecordingControl);
            if (await AnswerFaultBeforeAsync(context, fault))
            {
                return;
            }

            var service = emulator.CallAutomation;
            switch (method, action)
            {
                case ("GET", null):
                    context.Response.StatusCode = 200;
                    await context.Response.WriteAsJsonAsync(StateResponse(service.Get(recordingId), apiVersion));
                    break;
                case ("DELETE", null):
                    service.Stop(recordingId);
                    context.Response.StatusCode = 204;
                    break;
                case ("POST", "pause"):
                    service.Pause(recordingId);
                    context.Response.StatusCode = 202;
                    break;
                default:
                    service.Resume(recordingId);
                    context.Response.StatusCode = 202;
                    break;
            }

            AbortIfLost(context, fault);
        }
        catch (CallAutomationError error)
        {
            await WriteErrorAsync(context, error.Status, error.Code, error.Message);
        }
    }

    private static async Task StartAsync(EmulatorContext emulator, HttpContext context, byte[] body, string apiVersion)
    {
        var requestId = context.Request.Headers["Repeatability-Request-ID"].ToString();
        var firstSent = context.Request.Headers["Repeatability-First-Sent"].ToString();
        if (requestId.Length > 0 || firstSent.Length > 0)
        {
            if (!Guid.TryParse(requestId, out _)
                || !DateTimeOffset.TryParseExact(firstSent, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
            {
                throw new CallAutomationError(400, "InvalidRepeatabilityHeaders", "Repeatability-Request-ID must be a UUID and Repeatability-First-Sent an RFC 1123 date, and one needs the other.");
            }
        }

        var command = ParseStart(emulator, body, apiVersion, requestId.Length > 0 ? requestId : null);
        var fault = emulator.Faults.Take(command.ServerCallId ?? command.GroupCallId!, FaultTarget.StartRecording);
        if (await AnswerFaultBeforeAsync(context, fault))
        {
            return;
        }

        var recording = emulator.CallAutomation.Start(command);
        context.Response.StatusCode = 200;
        if (requestId.Length > 0)
        {
            context.Response.Headers["Repeatability-Result"] = "accepted";
        }

        await context.Response.WriteAsJsonAsync(StateResponse(recording, apiVersion));
        AbortIfLost(context, fault);
    }

    private static StartCommand ParseStart(EmulatorContext emulator, byte[] body, string apiVersion, string? requestId)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(body);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw CallAutomationError.Invalid($"The body is not JSON: {ex.Message}");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw CallAutomationError.Invalid("The body must be a JSON object (a StartCallRecordingRequest).");
        }

        if (root.TryGetProperty("callConnectionId", out _))
        {
            throw CallAutomationError.Invalid("callConnectionId is not supported by the emulator, which has no call connections; use callLocator.");
        }

        if (!root.TryGetProperty("callLocator", out var locator) || locator.ValueKind != JsonValueKind.Object)
        {
            throw CallAutomationError.Invalid("callLocator is required.");
        }

        var kind = String(locator, "kind");
        var serverCallId = String(locator, "serverCallId");
        var groupCallId = String(locator, "groupCallId");
        (serverCallId, groupCallId) = kind switch
        {
            "serverCallLocator" when !string.IsNullOrEmpty(serverCallId) => (serverCallId, null),
            "groupCallLocator" when !string.IsNullOrEmpty(groupCallId) => ((string?)null, groupCallId),
            null when !string.IsNullOrEmpty(serverCallId) && string.IsNullOrEmpty(groupCallId) => (serverCallId, null),
            null when !string.IsNullOrEmpty(groupCallId) && string.IsNullOrEmpty(serverCallId) => (null, groupCallId),
            "roomCallLocator" => throw CallAutomationError.Invalid("A room call cannot be recorded through callLocator; use a server or group call."),
            _ => throw CallAutomationError.Invalid("callLocator must be {\"kind\":\"serverCallLocator\",\"serverCallId\":...} or {\"kind\":\"groupCallLocator\",\"groupCallId\":...}."),
        };

        var content = Choice(root, "recordingContentType", "audio", "audio", "audioVideo");
        var channel = Choice(root, "recordingChannelType", "mixed", "mixed", "unmixed");
        var format = Choice(root, "recordingFormatType", content == "audioVideo" ? "mp4" : "wav", "wav", "mp3", "mp4");
        if (content == "audioVideo" && (channel != "mixed" || format != "mp4"))
        {
            throw CallAutomationError.Invalid("audioVideo is recorded as mixed mp4 only.");
        }

        if (channel == "unmixed" && format != "wav")
        {
            throw CallAutomationError.Invalid("Unmixed audio is recorded as wav only.");
        }

        var ordering = new List<string>();
        if (root.TryGetProperty("audioChannelParticipantOrdering", out var orderingElement))
        {
            if (orderingElement.ValueKind != JsonValueKind.Array)
            {
                throw CallAutomationError.Invalid("audioChannelParticipantOrdering must be an array of communication identifiers.");
            }

            ordering.AddRange(orderingElement.EnumerateArray().Select(e => RawIdOf(e, "audioChannelParticipantOrdering")));
        }

        var affinity = new List<(int, string)>();
        if (root.TryGetProperty("channelAffinity", out var affinityElement))
        {
            if (affinityElement.ValueKind != JsonValueKind.Array)
            {
                throw CallAutomationError.Invalid("channelAffinity must be an array of {channel, participant}.");
            }

            foreach (var entry in affinityElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("channel", out var channelNumber)
                    || !channelNumber.TryGetInt32(out var number)
                    || number is < 0 or > 4
                    || !entry.TryGetProperty("participant", out var participant))
                {
                    throw CallAutomationError.Invalid("Each channelAffinity entry needs a channel from 0 to 4 and a participant.");
                }

                affinity.Add((number, RawIdOf(participant, "channelAffinity")));
            }
        }

        var pauseOnStart = false;
        if (root.TryGetProperty("pauseOnStart", out var pause))
        {
            if (pause.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw CallAutomationError.Invalid("pauseOnStart must be true or false.");
            }

            pauseOnStart = pause.GetBoolean();
            RequireVersion(apiVersion, "pauseOnStart");
        }

        string? container = null;
        if (root.TryGetProperty("externalStorage", out var storage))
        {
            RequireVersion(apiVersion, "externalStorage");
            var storageKind = storage.ValueKind == JsonValueKind.Object ? String(storage, "recordingStorageKind") : null;
            container = storage.ValueKind == JsonValueKind.Object ? String(storage, "recordingDestinationContainerUrl") : null;
            if (storageKind == "azureCommunicationServices")
            {
                container = null;
            }
            else if (storageKind != "azureBlobStorage" || !Uri.TryCreate(container, UriKind.Absolute, out var containerUri) || (containerUri.Scheme != Uri.UriSchemeHttps && !(containerUri.Scheme == Uri.UriSchemeHttp && emulator.ExternalStorage.IsRegistered(containerUri))))
            {
                throw CallAutomationError.Invalid("externalStorage must be {\"recordingStorageKind\":\"azureBlobStorage\",\"recordingDestinationContainerUrl\":\"https://<account>.blob.core.windows.net/<container>\"}.");
            }
        }

        Uri? callback = null;
        if (String(root, "recordingStateCallbackUri") is { } callbackText
            && (!Uri.TryCreate(callbackText, UriKind.Absolute, out callback) || (callback.Scheme != Uri.UriSchemeHttp && callback.Scheme != Uri.UriSchemeHttps)))
        {
            throw CallAutomationError.Invalid("recordingStateCallbackUri must be an absolute http(s) URL.");
        }

        return new StartCommand(serverCallId, groupCallId, content, channel, format, ordering, affinity, pauseOnStart, container, callback, requestId);
    }

    private static void RequireVersion(string apiVersion, string field)
    {
        if (string.CompareOrdinal(apiVersion, PauseOnStartVersion) < 0)
        {
            throw CallAutomationError.Invalid($"{field} needs api-version {PauseOnStartVersion} or later; this request uses {apiVersion}.");
        }
    }

    private static string RawIdOf(JsonElement identifier, string field)
    {
        if (identifier.ValueKind == JsonValueKind.Object)
        {
            var rawId = String(identifier, "rawId")
                ?? (identifier.TryGetProperty("communicationUser", out var user) ? String(user, "id") : null)
                ?? (identifier.TryGetProperty("phoneNumber", out var phone) && String(phone, "value") is { } number ? "4:" + number : null);
            if (!string.IsNullOrWhiteSpace(rawId))
            {
                return rawId;
            }
        }

        throw CallAutomationError.Invalid($"Each participant in {field} must be a communication identifier with a rawId.");
    }

    private static string Choice(JsonElement root, string name, string fallback, params string[] allowed)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        var value = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        return allowed.FirstOrDefault(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase))
            ?? throw CallAutomationError.Invalid($"{name} must be one of {string.Join(", ", allowed)}; got {element.GetRawText()}.");
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Dictionary<string, string> StateResponse(EmulatedCallRecording recording, string apiVersion)
    {
        // Older versions leave recordingKind out of their answers.
        var state = recording.AcsState;
        return string.CompareOrdinal(apiVersion, PauseOnStartVersion) < 0
            ? new Dictionary<string, string> { ["recordingId"] = recording.RecordingId, ["recordingState"] = state }
            : new Dictionary<string, string> { ["recordingId"] = recording.RecordingId, ["recordingState"] = state, ["recordingKind"] = "azureCommunicationServices" };
    }

    /// <summary>A status or HTML fault answers instead of the operation; true when it did.</summary>
    private static async Task<bool> AnswerFaultBeforeAsync(HttpContext context, FaultSpec? fault)
    {
        switch (fault?.Type)
        {
            case FaultType.Status:
                if (fault.RetryAfterSeconds > 0)
                {
                    context.Response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                }

                await WriteErrorAsync(context, fault.Status == 0 ? 503 : fault.Status, "Injected", "Injected fault.");
                return true;
            case FaultType.Html:
                context.Response.StatusCode = fault.Status == 0 ? 502 : fault.Status;
                context.Response.ContentType = "text/html";
                await context.Response.WriteAsync("<html><head><title>Bad Gateway</title></head><body>Injected fault.</body></html>");
                return true;
            default:
                return false;
        }
    }

    /// <summary>A reset fault lets the operation happen and then drops the connection, so its answer is lost.</summary>
    private static void AbortIfLost(HttpContext context, FaultSpec? fault)
    {
        if (fault?.Type == FaultType.Reset)
        {
            context.Abort();
        }
    }

    private static string? Unauthorized(EmulatorContext emulator, HttpContext context, string rawPath, string query, byte[] body)
    {
        var request = context.Request;
        var check = AcsHmacVerifier.Verify(
            new AcsSignedRequest(
                request.Method,
                rawPath,
                query,
                request.Headers.Host.ToString(),
                request.Headers["x-ms-host"].FirstOrDefault(),
                request.Headers["x-ms-date"].FirstOrDefault(),
                request.Headers.Date.FirstOrDefault(),
                request.Headers["x-ms-content-sha256"].FirstOrDefault(),
                request.Headers.Authorization.FirstOrDefault(),
                Convert.ToBase64String(SHA256.HashData(body))),
            emulator.AccessKey.Span,
            emulator.TimeProvider.GetUtcNow(),
            emulator.Options.DateWindow,
            allowPreview2021: false);
        if (!check.IsValid)
        {
            return check.Detail;
        }

        var signedHost = request.Headers["x-ms-host"].FirstOrDefault() ?? request.Headers.Host.ToString();
        return string.Equals(signedHost, emulator.Endpoint.Authority, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"The signed host is '{signedHost}', but requests must be signed for the ACS endpoint '{emulator.Endpoint.Authority}'.";
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = new { code, message } });
    }

    private static object CallView(EmulatorContext emulator, EmulatedCall call) => new
    {
        serverCallId = call.ServerCallId,
        callId = call.CallId,
        groupCallId = call.GroupCallId,
        participants = call.Participants,
        state = call.EndedAt is null ? "connected" : "ended",
        startedAt = call.StartedAt,
        endedAt = call.EndedAt,
        publishFiles = call.PublishFiles,
        recordings = emulator.CallAutomation.RecordingsOf(call).Select(r => new
        {
            recordingId = r.RecordingId,
            state = r.State,
            recordingState = r.AcsState,
            content = r.Content,
            channel = r.Channel,
            format = r.Format,
            channelParticipants = r.ChannelParticipants,
            recordingStateCallbackUri = r.CallbackUri?.AbsoluteUri,
            externalStorageContainerUrl = r.ExternalStorageContainerUrl,
            startedAt = r.StartedAt,
            stoppedAt = r.StoppedAt,
            pauses = r.Pauses.Select(p => new { startSeconds = p.Start.TotalSeconds, endSeconds = p.End?.TotalSeconds }),
            filesRecorded = emulator.Recordings.Find(r.RecordingId) is not null,
        }),
    };
}

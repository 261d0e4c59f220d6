using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallVault.Acs;
using CallVault.Acs.CallAutomation;
using CallVault.Jobs;
using CallVault.Server.Access;
using CallVault.Server.Sessions;
using CallVault.Sessions;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Api;

/// <summary>
/// Recording control: start a recording of a call through Call Automation, follow it, pause, resume and stop it.
/// Reads need the reader role, changes the operator role. Who asked is the caller's name.
/// </summary>
internal static partial class SessionsApi
{
    /// <summary>The header a client repeats on a retried start so that it is never a second recording.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static readonly string[] Contents = ["audio", "audioVideo"];
    private static readonly string[] Channels = ["mixed", "unmixed"];
    private static readonly string[] Formats = ["wav", "mp3", "mp4"];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>How long CallVault keeps trying to record what ACS already did once the client is gone (30 s).</summary>
    private static readonly TimeSpan RecordAfterAcsTimeout = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapSessionsApi(this IEndpointRouteBuilder routes)
    {
        // Reading sessions is a reader's; starting, pausing, resuming and stopping a recording is an operator's.
        var api = routes.MapGroup("/api/sessions").WithTags("Sessions").RequireAuthorization(AccessPolicies.Reader);
        api.MapPost("/", StartAsync)
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Starts recording a call (serverCallId or groupCallId; content, channel, format, pauseOnStart, participantOrdering, channelAffinity, externalStorageContainerUrl). Send an Idempotency-Key header to make a retry safe.");
        api.MapGet("/", ListAsync)
            .WithSummary("Sessions, newest first: paging (skip, take up to 500), filters state (Active, Paused, Stopped, Failed) and filesMissing (true/false).");
        api.MapGet("/{recordingId}", GetAsync)
            .WithSummary("One session with its timeline (started, paused, resumed, stopped, files arrived, stored) and who asked.");
        api.MapPost("/{recordingId}/pause", (string recordingId, HttpContext context, IJobStore jobs, CallRecordingClient client, IOptionsMonitor<RecordingControlOptions> options, TimeProvider time, CancellationToken cancellationToken) =>
            ChangeAsync(recordingId, SessionAction.Pause, context, jobs, client, options.CurrentValue, time, cancellationToken))
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Pauses the recording: silence is recorded until it is resumed.");
        api.MapPost("/{recordingId}/resume", (string recordingId, HttpContext context, IJobStore jobs, CallRecordingClient client, IOptionsMonitor<RecordingControlOptions> options, TimeProvider time, CancellationToken cancellationToken) =>
            ChangeAsync(recordingId, SessionAction.Resume, context, jobs, client, options.CurrentValue, time, cancellationToken))
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Resumes a paused recording.");
        api.MapPost("/{recordingId}/stop", (string recordingId, HttpContext context, IJobStore jobs, CallRecordingClient client, IOptionsMonitor<RecordingControlOptions> options, TimeProvider time, CancellationToken cancellationToken) =>
            ChangeAsync(recordingId, SessionAction.Stop, context, jobs, client, options.CurrentValue, time, cancellationToken))
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Stops the recording for good; its files are expected within CallVault:Recording:FilesMissingAfter.");
        return routes;
    }

    private static async Task<IResult> StartAsync(
        HttpContext context,
        IJobStore jobs,
        CallRecordingClient client,
        IOptionsMonitor<RecordingControlOptions> options,
        TimeProvider time,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var recording = options.CurrentValue;
        if (!recording.CanStart)
        {
            return Results.Problem(
                "Recording control is not configured: set CallVault:Recording:PublicBaseUrl (the address ACS calls back) and CallVault:Recording:CallbackAudience (the ACS resource's immutable resource id).",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        StartBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<StartBody>(context.Request.Body, Json, cancellationToken);
        }
        catch (JsonException ex)
        {
            return BadRequest($"The body is not a valid start request: {ex.Message}");
        }

        if (body is null)
        {
            return BadRequest("The body must be a JSON object, e.g. {\"serverCallId\":\"...\"}.");
        }

        if (Validate(body) is { } problem)
        {
            return BadRequest(problem);
        }

        var actor = context.User.Identity?.Name;
        var clientKey = context.Request.Headers[IdempotencyKeyHeader].FirstOrDefault();
        string? scopedKey = null;
        Guid? requestId = null;
        DateTimeOffset? firstSent = null;
        if (!string.IsNullOrEmpty(clientKey))
        {
            if (clientKey.Length > 256)
            {
                return BadRequest($"The {IdempotencyKeyHeader} header is at most 256 characters.");
            }

            // Scoped to the caller, so that one client's key never answers another's request.
            scopedKey = Hash($"{actor}\n{clientKey}");
            var ticket = await jobs.Sessions.ClaimStartAsync(scopedKey, Hash(JsonSerializer.Serialize(body, Json)), cancellationToken);
            if (!ticket.SameRequest)
            {
                return Results.Problem($"The {IdempotencyKeyHeader} was first used with a different request; use a new key for a new recording.", statusCode: StatusCodes.Status422UnprocessableEntity);
            }

            if (ticket.RecordingId is { } started && await jobs.Sessions.GetAsync(started, recording.FilesMissingAfter, cancellationToken) is { } existing)
            {
                return Results.Created($"/api/sessions/{Uri.EscapeDataString(started)}", View(existing, withTimeline: false));
            }

            (requestId, firstSent) = (ticket.RequestId, ticket.FirstSent);
        }

        RecordingStateResult result;
        try
        {
            result = await client.StartAsync(
                new StartRecordingRequest
                {
                    ServerCallId = body.ServerCallId,
                    GroupCallId = body.GroupCallId,
                    Content = body.Content,
                    Channel = body.Channel,
                    Format = body.Format,
                    PauseOnStart = body.PauseOnStart ?? false,
                    AudioChannelParticipantOrdering = body.ParticipantOrdering,
                    ChannelAffinity = body.ChannelAffinity?.Select(a => new RecordingChannelAffinity(a.Channel, a.Participant!)).ToList(),
                    ExternalStorageContainerUrl = body.ExternalStorageContainerUrl is { } url ? new Uri(url) : null,
                    RecordingStateCallbackUri = recording.CallbackUri(),
                    RepeatabilityRequestId = requestId,
                    RepeatabilityFirstSent = firstSent,
                },
                cancellationToken);
        }
        catch (Exception ex) when (AcsFailure(ex, "start recording", loggers) is { } failure)
        {
            return failure;
        }

        // ACS has started recording: a client that hangs up now must not leave the recording unknown to CallVault.
        using var recordTimeout = new CancellationTokenSource(RecordAfterAcsTimeout, time);
        var session = await jobs.Sessions.RecordStartAsync(
            new SessionStart
            {
                RecordingId = result.RecordingId,
                ServerCallId = body.ServerCallId,
                GroupCallId = body.GroupCallId,
                Content = body.Content,
                Channel = body.Channel,
                Format = body.Format,
                PauseOnStart = body.PauseOnStart ?? false,
                ParticipantOrdering = body.ParticipantOrdering ?? [],
                ChannelAffinity = [.. (body.ChannelAffinity ?? []).Select(a => new SessionChannelAffinity(a.Channel, a.Participant!))],
                ExternalStorageContainerUrl = body.ExternalStorageContainerUrl,
                AcsState = result.State,
                Actor = actor,
                StartedAt = time.GetUtcNow(),
                IdempotencyKey = scopedKey,
            },
            recordTimeout.Token);
        return Results.Created($"/api/sessions/{Uri.EscapeDataString(result.RecordingId)}", View(session, withTimeline: false));
    }

    private static async Task<IResult> ListAsync(
        IJobStore jobs,
        IOptionsMonitor<RecordingControlOptions> options,
        int? skip,
        int? take,
        string? state,
        bool? filesMissing,
        CancellationToken cancellationToken)
    {
        SessionState? wanted = null;
        if (!string.IsNullOrEmpty(state))
        {
            if (!Enum.TryParse<SessionState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            {
                return BadRequest($"Unknown state '{state}': use one of {string.Join(", ", Enum.GetNames<SessionState>())}.");
            }

            wanted = parsed;
        }

        var sessions = await jobs.Sessions.ListAsync(
            new SessionQuery { Skip = skip ?? 0, Take = take ?? 50, State = wanted, FilesMissing = filesMissing, FilesMissingAfter = options.CurrentValue.FilesMissingAfter },
            cancellationToken);
        return Results.Ok(sessions.Select(s => View(s, withTimeline: false)));
    }

    private static async Task<IResult> GetAsync(string recordingId, IJobStore jobs, IOptionsMonitor<RecordingControlOptions> options, CancellationToken cancellationToken)
    {
        var id = RouteId(recordingId);
        return await jobs.Sessions.GetAsync(id, options.CurrentValue.FilesMissingAfter, cancellationToken) is { } session
            ? Results.Ok(View(session, withTimeline: true))
            : NotFound(id);
    }

    private static async Task<IResult> ChangeAsync(
        string recordingId,
        SessionAction action,
        HttpContext context,
        IJobStore jobs,
        CallRecordingClient client,
        RecordingControlOptions options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var id = RouteId(recordingId);
        var session = await jobs.Sessions.GetAsync(id, options.FilesMissingAfter, cancellationToken);
        if (session is null)
        {
            return NotFound(id);
        }

        if (session.State is SessionState.Stopped or SessionState.Failed)
        {
            return Results.Problem($"Recording '{id}' is {session.State.ToString().ToLowerInvariant()}; it cannot be {Verb(action)}.", statusCode: StatusCodes.Status409Conflict);
        }

        // Noted before ACS is asked: ACS may call back before it answers, and that callback must be read as this request's.
        var previous = await jobs.Sessions.NoteRequestAsync(id, action, null, cancellationToken);
        try
        {
            await (action switch
            {
                SessionAction.Pause => client.PauseAsync(id, cancellationToken),
                SessionAction.Resume => client.ResumeAsync(id, cancellationToken),
                _ => client.StopAsync(id, cancellationToken),
            });
        }
        catch (CallAutomationException acs) when (OutcomeUnknown(acs))
        {
            // No answer (or a failure that may follow the action): ACS may have acted, so the noted request stays and
            // its callback, if it comes, is read as this request's.
            Log.AcsRefused(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CallVault.Sessions"), action.ToString().ToLowerInvariant(), acs.StatusCode, acs.ErrorCode);
            return Results.Problem(
                $"ACS gave no clear answer to the {action.ToString().ToLowerInvariant()} of recording '{id}'; whether it happened is unknown. The session follows ACS's callbacks; check it again shortly.",
                statusCode: acs.StatusCode is 0 or 408 or 504 ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway,
                extensions: new Dictionary<string, object?> { ["acsStatus"] = acs.StatusCode, ["acsCode"] = acs.ErrorCode, ["outcome"] = "unknown" });
        }
        catch (Exception ex) when (AcsFailure(ex, action.ToString().ToLowerInvariant(), context.RequestServices.GetRequiredService<ILoggerFactory>()) is { } failure)
        {
            using var putBackTimeout = new CancellationTokenSource(RecordAfterAcsTimeout, time);
            await jobs.Sessions.NoteRequestAsync(id, null, previous, putBackTimeout.Token);
            if (ex is CallAutomationException { StatusCode: 404 })
            {
                // ACS no longer knows the recording: its call ended, and an "inactive" read as a pause was the end.
                await jobs.Sessions.RecordGoneAsync(id, context.User.Identity?.Name, putBackTimeout.Token);
            }

            return failure;
        }

        // ACS has acted: a client that hangs up now must not leave the change unrecorded.
        using var recordTimeout = new CancellationTokenSource(RecordAfterAcsTimeout, time);
        await jobs.Sessions.RecordChangeAsync(
            new SessionChange
            {
                RecordingId = id,
                ChangeId = "api-" + Guid.NewGuid().ToString("N"),
                Source = SessionChangeSource.Api,
                Actor = context.User.Identity?.Name,
                OccurredAt = time.GetUtcNow(),
                Requested = action,
            },
            recordTimeout.Token);
        var updated = await jobs.Sessions.GetAsync(id, options.FilesMissingAfter, recordTimeout.Token);
        return Results.Accepted($"/api/sessions/{Uri.EscapeDataString(id)}", View(updated!, withTimeline: true));
    }

    /// <summary>Why a start request cannot be sent, or null.</summary>
    private static string? Validate(StartBody body)
    {
        if (string.IsNullOrWhiteSpace(body.ServerCallId) == string.IsNullOrWhiteSpace(body.GroupCallId))
        {
            return "Give exactly one of serverCallId and groupCallId.";
        }

        foreach (var (name, value) in new[] { ("serverCallId", body.ServerCallId), ("groupCallId", body.GroupCallId) })
        {
            if (Events.StoredText.Problem(name, value, Events.StoredText.MaxIndexedLength) is { } problem)
            {
                return problem;
            }
        }

        foreach (var (name, value, allowed) in new[] { ("content", body.Content, Contents), ("channel", body.Channel, Channels), ("format", body.Format, Formats) })
        {
            if (value is not null && !allowed.Contains(value, StringComparer.Ordinal))
            {
                return $"Unknown {name} '{Cut(value)}': use one of {string.Join(", ", allowed)}.";
            }
        }

        // The combinations ACS records: mixed audio as wav or mp3, unmixed audio as wav, mixed audio and video as mp4.
        if (body.Content == "audioVideo" && (body.Channel == "unmixed" || body.Format is "wav" or "mp3"))
        {
            return "audioVideo is recorded mixed, as mp4.";
        }

        if (body.Format == "mp4" && body.Content != "audioVideo")
        {
            return "mp4 is for content audioVideo; audio is recorded as wav or mp3.";
        }

        if (body.Channel == "unmixed" && body.Format == "mp3")
        {
            return "Unmixed audio is recorded as wav.";
        }

        if (body.ParticipantOrdering is { } ordering && (ordering.Count > 64 || ordering.Any(p => Events.StoredText.Problem("participant", p, Events.StoredText.MaxIndexedLength, required: true) is not null)))
        {
            return "participantOrdering must be a list of up to 64 raw participant ids (e.g. 8:acs:... or 4:+14255550123).";
        }

        if (body.ChannelAffinity is { } affinity && (affinity.Count > 5 || affinity.Any(a => a is null || a.Channel is < 0 or > 4 || Events.StoredText.Problem("participant", a.Participant, Events.StoredText.MaxIndexedLength, required: true) is not null)))
        {
            return "channelAffinity must be a list of up to 5 {\"channel\": 0-4, \"participant\": \"raw id\"}.";
        }

        if (body.ExternalStorageContainerUrl is { } container
            && (!Uri.TryCreate(container, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps || container.Length > Events.StoredText.MaxLocationLength || !string.IsNullOrEmpty(url.Query)))
        {
            return "externalStorageContainerUrl must be the https address of a blob container, e.g. https://account.blob.core.windows.net/recordings, without a query (ACS writes with its managed identity, not a SAS).";
        }

        return null;
    }

    /// <summary>
    /// Whether a failed pause, resume or stop may nonetheless have been carried out: no answer at all (status 0), a
    /// timeout, or a server error that can come after the action; a refusal (4xx) or 503 (not taken on) did nothing.
    /// </summary>
    private static bool OutcomeUnknown(CallAutomationException exception) => exception.StatusCode is 0 or 408 or 500 or 502 or 504;

    /// <summary>ACS's refusal as a clear answer: its own 4xx stays a 4xx (a call that is unknown or over is 404), anything else is 502.</summary>
    private static IResult? AcsFailure(Exception exception, string operation, ILoggerFactory loggers)
    {
        switch (exception)
        {
            case AcsNotConfiguredException:
                return Results.Problem("ACS is not configured: set CallVault:Acs:ConnectionString.", statusCode: StatusCodes.Status503ServiceUnavailable);
            case CallAutomationException acs:
                Log.AcsRefused(loggers.CreateLogger("CallVault.Sessions"), operation, acs.StatusCode, acs.ErrorCode);
                var status = acs.StatusCode switch
                {
                    400 or 404 or 409 or 412 or 422 => acs.StatusCode,
                    _ => StatusCodes.Status502BadGateway,
                };
                var detail = acs.StatusCode is 401 or 403
                    ? $"ACS refused CallVault's credentials ({acs.StatusCode}); check CallVault:Acs:ConnectionString."
                    : WithoutQueryStrings(acs.Message);
                return Results.Problem(detail, statusCode: status, extensions: new Dictionary<string, object?> { ["acsStatus"] = acs.StatusCode, ["acsCode"] = acs.ErrorCode });
            default:
                return null;
        }
    }

    /// <summary>
    /// ACS's own message may repeat a URL CallVault sent it (a callback address with its <c>?code=</c> secret):
    /// every query string is cut from URLs in the text.
    /// </summary>
    internal static string WithoutQueryStrings(string text) => UrlQuery().Replace(text, "$1");

    [System.Text.RegularExpressions.GeneratedRegex(@"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#""']*)\?[^\s#""']*")]
    private static partial System.Text.RegularExpressions.Regex UrlQuery();

    private static object View(RecordingSession s, bool withTimeline) => new
    {
        recordingId = s.RecordingId,
        state = s.State,
        stateChangedAt = s.StateChangedAt,
        serverCallId = s.ServerCallId,
        groupCallId = s.GroupCallId,
        content = s.Content,
        channel = s.Channel,
        format = s.Format,
        pauseOnStart = s.PauseOnStart,
        participantOrdering = s.ParticipantOrdering,
        channelAffinity = s.ChannelAffinity.Select(a => new { channel = a.Channel, participant = a.Participant }),
        externalStorageContainerUrl = s.ExternalStorageContainerUrl,
        filesExpectedIn = s.ExternalStorageContainerUrl ?? "acs",
        origin = s.Origin,
        startedBy = s.StartedBy,
        createdAt = s.CreatedAt,
        lastRequested = s.LastRequested,
        stoppedAt = s.StoppedAt,
        detail = s.Detail,
        filesMissing = s.FilesMissing,
        recording = s.Files is { } f ? new { key = f.RecordingKey, arrivedAt = f.ArrivedAt, chunks = f.Chunks, storedChunks = f.StoredChunks, storedAt = f.StoredAt } : null,
        timeline = withTimeline
            ? s.History.Select(h => new { at = h.At, receivedAt = h.ReceivedAt, source = h.Source, @event = h.Event, state = h.State, applied = h.Applied, actor = h.Actor, detail = h.Detail })
            : null,
    };

    /// <summary>A recording id is opaque (often base64, with '/'): clients escape it in the path, and an escaped slash stays escaped in the route value.</summary>
    private static string RouteId(string value) => Uri.UnescapeDataString(value);

    private static string Verb(SessionAction action) => action switch
    {
        SessionAction.Pause => "paused",
        SessionAction.Resume => "resumed",
        _ => "stopped",
    };

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Cut(string text) => text.Length > 40 ? text[..40] + "…" : text;

    private static IResult BadRequest(string message) => Results.Problem(message, statusCode: StatusCodes.Status400BadRequest);

    private static IResult NotFound(string recordingId) => Results.Problem($"No recording session '{recordingId}'.", statusCode: StatusCodes.Status404NotFound);

    /// <summary>The body of <c>POST /api/sessions</c>.</summary>
    internal sealed record StartBody(
        string? ServerCallId,
        string? GroupCallId,
        string? Content,
        string? Channel,
        string? Format,
        bool? PauseOnStart,
        IReadOnlyList<string>? ParticipantOrdering,
        IReadOnlyList<ChannelAffinityBody>? ChannelAffinity,
        string? ExternalStorageContainerUrl);

    /// <summary>One channel affinity of <see cref="StartBody"/>.</summary>
    internal sealed record ChannelAffinityBody(int Channel, string? Participant);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Call Automation refused to {Operation}: {Status} {Code}")]
        public static partial void AcsRefused(ILogger logger, string operation, int status, string? code);
    }
}

using System.Text.Json;
using CallVault.Audit;
using CallVault.Jobs;
using CallVault.Retention;
using CallVault.Server.Access;
using CallVault.Server.Audit;

namespace CallVault.Server.Api;

/// <summary>
/// Legal holds and deletion by hand: an operator puts a recording under hold (with a reason) or clears it, and deletes a
/// recording, which a hold refuses; readers list holds and tombstones. Every change, and every refused deletion, is kept
/// in the access audit log.
/// </summary>
internal static class RetentionApi
{
    /// <summary>The largest hold request body read: 8 KiB, far more than a reason of 500 characters needs.</summary>
    private const int MaxBodyBytes = 8 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapRetentionApi(this IEndpointRouteBuilder routes)
    {
        var recordings = routes.MapGroup("/api/recordings").WithTags("Retention");
        recordings.MapGet("/{key}/hold", async (string key, IJobStore jobs, CancellationToken cancellationToken) =>
                Results.Ok(new { recordingKey = key, hold = await jobs.Retention.GetHoldAsync(key, cancellationToken) }))
            .RequireAuthorization(AccessPolicies.Reader)
            .WithSummary("A recording's active legal hold (reason, who, when) as {recordingKey, hold}, hold null when it has none (a 200 either way: the dashboard polls it, and a browser reports every 404 as an error). Not an audited read of the recording: it says nothing of its content.");
        recordings.MapPut("/{key}/hold", SetHoldAsync)
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Puts a recording under legal hold: body {\"reason\":\"...\"} (required, at most 500 characters). Nothing deletes a held recording until the hold is cleared.");
        recordings.MapDelete("/{key}/hold", ClearHoldAsync)
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Clears a recording's legal hold (kept in the hold history and the audit log).");
        recordings.MapDelete("/{key}", DeleteAsync)
            .RequireAuthorization(AccessPolicies.Operator)
            .WithSummary("Deletes a stored recording (chunk files, metadata, manifest) and keeps a tombstone; refused with 409 while it is held or not wholly stored and verified.");

        routes.MapGet("/api/holds", async (IJobStore jobs, bool? all, int? take, CancellationToken cancellationToken) =>
            Results.Ok((await jobs.Retention.ListHoldsAsync(all ?? false, take ?? 100, cancellationToken))))
            .WithTags("Retention")
            .RequireAuthorization(AccessPolicies.Reader)
            .WithSummary("Active legal holds, most recent first; all=true adds cleared ones; take up to 1,000, default 100.");
        routes.MapGet("/api/tombstones", async (IJobStore jobs, int? take, CancellationToken cancellationToken) =>
            Results.Ok(await jobs.Retention.ListTombstonesAsync(take ?? 100, cancellationToken)))
            .WithTags("Retention")
            .RequireAuthorization(AccessPolicies.Reader)
            .WithSummary("Deleted recordings' tombstones (ids, each file's size and SHA-256, when, which rule), most recent first; take up to 1,000, default 100.");
        return routes;
    }

    /// <summary>The answer for a recording that was deleted: 410 Gone, with its tombstone.</summary>
    public static IResult Gone(Tombstone tombstone) => Results.Json(
        new
        {
            title = "Deleted",
            status = StatusCodes.Status410Gone,
            detail = $"Recording '{tombstone.RecordingKey}' was deleted on {tombstone.DeletedAt:O} ({tombstone.Rule}).",
            tombstone,
        },
        statusCode: StatusCodes.Status410Gone);

    private static async Task<IResult> SetHoldAsync(string key, HttpContext httpContext, IJobStore jobs, RetentionMetrics metrics, CancellationToken cancellationToken)
    {
        var (reason, problem) = await ReadReasonAsync(httpContext.Request, cancellationToken);
        if (problem is not null)
        {
            await RecordAsync(httpContext, jobs, AccessAuditActions.HoldSet, key, StatusCodes.Status400BadRequest);
            return Results.Problem(problem, statusCode: StatusCodes.Status400BadRequest);
        }

        var change = await jobs.Retention.SetHoldAsync(key, reason!, AccessAuditing.CallerName(httpContext), cancellationToken);
        var status = change.Outcome switch
        {
            HoldOutcome.Set => StatusCodes.Status201Created,
            HoldOutcome.AlreadyHeld => StatusCodes.Status200OK,
            HoldOutcome.NotFound => StatusCodes.Status404NotFound,
            _ => StatusCodes.Status409Conflict,
        };
        // Recorded before answering, so that no hold is acknowledged without its audit record.
        await RecordAsync(httpContext, jobs, AccessAuditActions.HoldSet, key, status);
        metrics.SetActiveHolds(await jobs.Retention.CountActiveHoldsAsync(cancellationToken));
        return change.Outcome switch
        {
            HoldOutcome.Set => Results.Json(change.Hold, statusCode: StatusCodes.Status201Created),
            HoldOutcome.AlreadyHeld => Results.Ok(change.Hold),
            HoldOutcome.NotFound => Results.Problem($"No recording '{key}'.", statusCode: StatusCodes.Status404NotFound),
            _ => Results.Problem($"Recording '{key}' is being deleted or was deleted; it can no longer be held.", statusCode: StatusCodes.Status409Conflict),
        };
    }

    private static async Task<IResult> ClearHoldAsync(string key, HttpContext httpContext, IJobStore jobs, RetentionMetrics metrics, CancellationToken cancellationToken)
    {
        var cleared = await jobs.Retention.ClearHoldAsync(key, AccessAuditing.CallerName(httpContext), cancellationToken);
        await RecordAsync(httpContext, jobs, AccessAuditActions.HoldClear, key, cleared is null ? StatusCodes.Status404NotFound : StatusCodes.Status200OK);
        metrics.SetActiveHolds(await jobs.Retention.CountActiveHoldsAsync(cancellationToken));
        return cleared is null
            ? Results.Problem($"Recording '{key}' is not under legal hold.", statusCode: StatusCodes.Status404NotFound)
            : Results.Ok(cleared);
    }

    private static async Task<IResult> DeleteAsync(string key, HttpContext httpContext, IJobStore jobs, RecordingDeleter deleter, CancellationToken cancellationToken)
    {
        var who = AccessAuditing.CallerName(httpContext);
        var caller = new AccessAuditEntry
        {
            Who = who,
            Action = AccessAuditActions.RecordingDelete,
            RemoteAddress = httpContext.Connection.RemoteIpAddress?.ToString(),
        };

        // Not cancelled by the caller going away once begun: a deletion half done is finished now rather than at the next sweep.
        var result = await deleter.DeleteAsync(key, RecordingDeleter.ManualRule(who), storedBefore: null, caller, CancellationToken.None);
        if (result.Tombstone is { } tombstone)
        {
            return Results.Ok(tombstone);
        }

        var (status, answer) = result.Outcome switch
        {
            DeletionOutcome.Held => (StatusCodes.Status409Conflict, Results.Problem(
                $"Recording '{key}' is under legal hold since {result.Hold!.SetAt:O} (set by {result.Hold.SetBy}: {result.Hold.Reason}); clear the hold before deleting it.",
                statusCode: StatusCodes.Status409Conflict, title: "Under legal hold")),
            DeletionOutcome.NotVerified => (StatusCodes.Status409Conflict, Results.Problem(
                $"Recording '{key}' is not wholly stored and verified (a chunk is pending, downloading or failed); nothing was deleted.",
                statusCode: StatusCodes.Status409Conflict, title: "Not stored")),
            DeletionOutcome.AlreadyDeleted when await jobs.Retention.GetTombstoneAsync(key, cancellationToken) is { } gone => (StatusCodes.Status410Gone, Gone(gone)),
            _ => (StatusCodes.Status404NotFound, Results.Problem($"No recording '{key}'.", statusCode: StatusCodes.Status404NotFound)),
        };
        await RecordAsync(httpContext, jobs, AccessAuditActions.RecordingDelete, key, status);
        return answer;
    }

    private static Task RecordAsync(HttpContext httpContext, IJobStore jobs, string action, string key, int status) =>
        AccessAuditing.RecordAsync(httpContext, jobs.AccessAudit, new AccessAuditEntry { Who = AccessAuditing.UnnamedCaller, Action = action, RecordingKey = key, Status = status });

    /// <summary>The reason from <c>{"reason":"..."}</c>, trimmed; or why the body is refused.</summary>
    private static async Task<(string? Reason, string? Problem)> ReadReasonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, $"The body is at most {MaxBodyBytes} bytes.");
        }

        var buffer = new MemoryStream();
        var chunk = new byte[1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return (null, $"The body is at most {MaxBodyBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        HoldBody? body;
        try
        {
            body = buffer.Length == 0 ? null : JsonSerializer.Deserialize<HoldBody>(buffer.ToArray(), Json);
        }
        catch (JsonException)
        {
            return (null, "The body must be a JSON object with a reason, e.g. {\"reason\":\"litigation 2026-114\"}.");
        }

        var reason = body?.Reason?.Trim();
        if (string.IsNullOrEmpty(reason))
        {
            return (null, "A reason is required, e.g. {\"reason\":\"litigation 2026-114\"}.");
        }

        if (reason.Length > LegalHold.MaxReasonLength)
        {
            return (null, $"The reason is at most {LegalHold.MaxReasonLength} characters.");
        }

        if (reason.Any(c => char.IsControl(c) && c is not ('\n' or '\t')))
        {
            return (null, "The reason must not contain control characters.");
        }

        return (reason, null);
    }

    private sealed record HoldBody(string? Reason);
}

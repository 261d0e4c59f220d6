using CallVault.Jobs;
using CallVault.Server.Access;
using CallVault.Server.Sessions;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Api;

/// <summary>
/// The reconciliation report (<c>GET /api/reconciliation?since=&amp;until=</c>): every recording CallVault heard of in a
/// period with the state of each chunk, totals lost first, a summary per day, and the sessions still without files.
/// </summary>
internal static class ReconciliationApi
{
    /// <summary>The period when none is given: two days, so that yesterday's lost chunks show next to today's.</summary>
    private static readonly TimeSpan DefaultPeriod = TimeSpan.FromHours(48);

    /// <summary>The longest period one report reads, so that one request cannot read the whole database.</summary>
    private static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(31);

    /// <summary>How far past CallVault's clock the default period reaches, for events stamped by a clock ahead: 1 hour.</summary>
    private static readonly TimeSpan ClockAheadAllowance = TimeSpan.FromHours(1);

    public static IEndpointRouteBuilder MapReconciliationApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/reconciliation", async (
            IJobStore jobs,
            IOptionsMonitor<CallVaultOptions> options,
            IOptionsMonitor<RecordingControlOptions> recordingOptions,
            TimeProvider time,
            DateTimeOffset? since,
            DateTimeOffset? until,
            CancellationToken cancellationToken) =>
        {
            var now = time.GetUtcNow();
            // Events carry ACS's clock: by default the period runs an hour past ours, so that a chunk stamped by a clock
            // slightly ahead is still listed.
            var end = until ?? now + ClockAheadAllowance;
            // Clamped so that a date near the calendar's start cannot overflow into a 500.
            var start = since ?? (end - DateTimeOffset.MinValue > DefaultPeriod ? end - DefaultPeriod : DateTimeOffset.MinValue);
            if (start >= end)
            {
                return Results.Problem("since must be before until.", statusCode: StatusCodes.Status400BadRequest);
            }

            if (end - start > MaxPeriod)
            {
                return Results.Problem($"The period is at most {MaxPeriod.TotalDays:0} days; ask for several.", statusCode: StatusCodes.Status400BadRequest);
            }

            var report = await jobs.Recordings.GetReconciliationAsync(
                new ReconciliationQuery
                {
                    Since = start,
                    Until = end,
                    Now = now,
                    AcsRetention = options.CurrentValue.AcsRetention,
                    FilesMissingAfter = recordingOptions.CurrentValue.FilesMissingAfter,
                },
                cancellationToken);
            return Results.Ok(ToJson(report, now));
        })
        .WithTags("Reconciliation")
        .RequireAuthorization(AccessPolicies.Reader)
        .WithSummary("Every recording CallVault heard of (webhook, dead-letter blob, recording session) whose chunks' events are in [since, until) (default: the last 48 hours, at most 31 days), each chunk stored, pending (with time left before ACS deletes it), recovered, lost, exported or failed; totals and days lost first; sessions still without files.");
        return routes;
    }

    private static object ToJson(ReconciliationReport report, DateTimeOffset now) => new
    {
        since = report.Since,
        until = report.Until,
        generatedAt = now,
        totals = report.Totals.Select(t => new { state = Name(t.Key), chunks = t.Value }),
        days = report.Recordings
            .SelectMany(r => r.Chunks)
            .GroupBy(c => DateOnly.FromDateTime(c.EventTime.UtcDateTime))
            .OrderByDescending(g => g.Key)
            .Select(g => new
            {
                day = g.Key.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                totals = Enum.GetValues<ReconciliationState>().Select(s => new { state = Name(s), chunks = g.Count(c => c.State == s) }),
            }),
        recordings = report.Recordings.Select(r => new
        {
            key = r.Key,
            recordingId = r.RecordingId,
            callId = r.CallId,
            state = Name(r.State),
            exportedTo = r.ExportedTo,
            chunks = r.Chunks.Select(c => new
            {
                documentId = c.DocumentId,
                index = c.Index,
                state = Name(c.State),
                eventTime = c.EventTime,
                acsExpiresAt = c.AcsExpiresAt,
                timeLeftSeconds = c.TimeLeft is { } left ? (long?)Math.Max(0, (long)left.TotalSeconds) : null,
                viaDeadLetter = c.ViaDeadLetter,
                reason = c.Reason,
            }),
        }),
        sessionsWithoutRecording = report.SessionsWithoutRecording.Select(s => new
        {
            recordingId = s.RecordingId,
            serverCallId = s.ServerCallId,
            state = s.State == ReconciliationSessionState.FilesMissing ? "filesMissing" : "filesExpected",
            createdAt = s.CreatedAt,
            stoppedAt = s.StoppedAt,
        }),
    };

    private static string Name(ReconciliationState state) => state.ToString().ToLowerInvariant();
}

using CallVault.Audit;
using CallVault.Jobs;
using CallVault.Server.Access;
using CallVault.Server.Audit;

namespace CallVault.Server.Api;

/// <summary>The jobs API: counts by state, chunks by state, downloads in flight, and retrying a dead-lettered chunk.</summary>
internal static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/jobs").WithTags("Jobs").RequireAuthorization(AccessPolicies.Reader);
        api.MapGet("/", async (IJobStore jobs, CancellationToken cancellationToken) =>
        {
            var statistics = await jobs.Recordings.GetStatisticsAsync(cancellationToken);
            return Results.Ok(new
            {
                byState = statistics.ByState.ToDictionary(p => p.Key.ToString(), p => p.Value),
                oldestPendingEventTime = statistics.OldestPendingEventTime,
                lastEventReceivedAt = statistics.LastEventReceivedAt,
            });
        }).WithSummary("Chunk jobs by state, the oldest pending event and the last event received.");

        api.MapGet("/dead-letters", async (IJobStore jobs, int? take, CancellationToken cancellationToken) =>
            Results.Ok((await jobs.DeadLetters.ListAsync(take ?? 100, cancellationToken)).Select(c => new
            {
                documentId = c.Request.DocumentId,
                recordingKey = c.Request.Recording.Key,
                callId = c.Request.Recording.CallId,
                index = c.Request.Index,
                attempts = c.Attempts,
                lastError = c.LastError,
                eventTime = c.Request.EventTime,
            })))
            .WithSummary("Dead-lettered chunks, oldest first, with the reason.");

        api.MapGet("/chunks", async (IJobStore jobs, Microsoft.Extensions.Options.IOptionsMonitor<CallVaultOptions> options, string? state, int? take, CancellationToken cancellationToken) =>
        {
            if (!Enum.TryParse<ChunkState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            {
                return Results.Problem($"Give a state: one of {string.Join(", ", Enum.GetNames<ChunkState>())}.", statusCode: StatusCodes.Status400BadRequest);
            }

            return Results.Ok((await jobs.Recordings.ListChunksAsync(parsed, take ?? 100, cancellationToken)).Select(c => new
            {
                documentId = c.Request.DocumentId,
                recordingKey = c.Request.Recording.Key,
                callId = c.Request.Recording.CallId,
                index = c.Request.Index,
                state = c.State.ToString(),
                attempts = c.Attempts,
                lastError = c.LastError,
                eventTime = c.Request.EventTime,
                nextAttemptAt = c.NextAttemptAt,
                deadLetter = c.DeadLetter?.Outcome.ToString().ToLowerInvariant(),
                acsExpiresAt = c.Request.EventTime + options.CurrentValue.AcsRetention,
            }));
        }).WithSummary("Chunks in one state (Pending, Leased, Stored, DeadLettered), oldest event first, with their attempts and last error; take up to 1,000, default 100.");

        api.MapGet("/in-flight", (Processing.DownloadsInFlight downloads, TimeProvider time) =>
        {
            var now = time.GetUtcNow();
            return Results.Ok(downloads.Snapshot().Select(d => new
            {
                documentId = d.DocumentId,
                recordingKey = d.RecordingKey,
                index = d.ChunkIndex,
                bytesReceived = d.BytesReceived,
                totalBytes = d.TotalBytes,
                startedAt = d.StartedAt,
                bytesPerSecond = (now - d.StartedAt).TotalSeconds is var seconds and > 0 ? (long)(d.BytesReceived / seconds) : 0,
            }));
        }).WithSummary("Media downloads this instance is running now, with bytes received so far (live progress).");

        api.MapPost("/{documentId}/retry", async (string documentId, HttpContext httpContext, IJobStore jobs, Processing.JobSignal signal, CancellationToken cancellationToken) =>
        {
            var outcome = await jobs.DeadLetters.RetryAsync(documentId, cancellationToken);
            var status = outcome switch
            {
                DeadLetterRetryOutcome.Retried => StatusCodes.Status202Accepted,
                DeadLetterRetryOutcome.RecordingDeleted => StatusCodes.Status409Conflict,
                _ => StatusCodes.Status404NotFound,
            };

            // Recorded before answering, so that no retry is acknowledged without its audit record.
            await AccessAuditing.RecordAsync(
                httpContext,
                jobs.AccessAudit,
                new AccessAuditEntry { Who = AccessAuditing.UnnamedCaller, Action = AccessAuditActions.Retry, DocumentId = documentId, Status = status });
            switch (outcome)
            {
                case DeadLetterRetryOutcome.NotFound:
                    return Results.Problem($"No dead-lettered chunk '{documentId}'.", statusCode: status);
                case DeadLetterRetryOutcome.RecordingDeleted:
                    return Results.Problem($"The recording of chunk '{documentId}' was deleted (see its tombstone) or is being deleted; the chunk is not stored into it again.", statusCode: status);
            }

            signal.Notify(1);
            return Results.Accepted(value: new { documentId, state = "Pending" });
        }).RequireAuthorization(AccessPolicies.Operator).WithSummary("Makes a dead-lettered chunk due again now; kept in the access audit log.");
        return routes;
    }
}

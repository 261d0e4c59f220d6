using CallVault.Jobs;

namespace CallVault.Server.Api;

/// <summary>The jobs API: counts by state, and retrying a dead-lettered chunk.</summary>
internal static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/jobs").WithTags("Jobs").AddEndpointFilter<ApiAccessFilter>();
        api.MapGet("/", async (IJobStore jobs, CancellationToken cancellationToken) =>
        {
            var statistics = await jobs.GetStatisticsAsync(cancellationToken);
            return Results.Ok(new
            {
                byState = statistics.ByState.ToDictionary(p => p.Key.ToString(), p => p.Value),
                oldestPendingEventTime = statistics.OldestPendingEventTime,
                lastEventReceivedAt = statistics.LastEventReceivedAt,
            });
        }).WithSummary("Chunk jobs by state, the oldest pending event and the last event received.");

        api.MapGet("/dead-letters", async (IJobStore jobs, int? take, CancellationToken cancellationToken) =>
            Results.Ok((await jobs.ListChunksAsync(ChunkState.DeadLettered, take ?? 100, cancellationToken)).Select(c => new
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

        api.MapPost("/{documentId}/retry", async (string documentId, IJobStore jobs, Processing.JobSignal signal, CancellationToken cancellationToken) =>
        {
            if (!await jobs.RetryDeadLetterAsync(documentId, cancellationToken))
            {
                return Results.Problem($"No dead-lettered chunk '{documentId}'.", statusCode: StatusCodes.Status404NotFound);
            }

            signal.Notify(1);
            return Results.Accepted(value: new { documentId, state = "Pending" });
        }).WithSummary("Makes a dead-lettered chunk due again now.");
        return routes;
    }
}

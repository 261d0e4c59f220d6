using CallVault.Jobs;
using CallVault.Processing;

namespace CallVault.Server.Api;

/// <summary>The read API: <c>GET /api/recordings</c> and <c>GET /api/recordings/{key}</c>, the manifest data as JSON.</summary>
internal static class RecordingsApi
{
    public static IEndpointRouteBuilder MapRecordingsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/recordings");
        api.MapGet("/", async (IJobStore jobs, int? skip, int? take, string? callId, CancellationToken cancellationToken) =>
        {
            var query = new RecordingQuery { Skip = skip ?? 0, Take = take ?? 50, CallId = callId };
            var recordings = await jobs.ListRecordingsAsync(query, cancellationToken);
            return Results.Ok(recordings.Select(r => new
            {
                key = r.Key,
                recordingId = r.Info.RecordingId,
                callId = r.Info.CallId,
                startTime = r.Info.StartTime,
                durationMs = r.Info.DurationMs,
                contentType = r.Info.ContentType,
                channelType = r.Info.ChannelType,
                formatType = r.Info.FormatType,
                status = r.Status,
                chunks = r.Chunks,
                storedChunks = r.StoredChunks,
                storedBytes = r.StoredBytes,
                firstSeenAt = r.FirstSeenAt,
            }));
        });
        api.MapGet("/{key}", async (string key, IJobStore jobs, TimeProvider time, CancellationToken cancellationToken) =>
            await jobs.GetRecordingAsync(key, cancellationToken) is { } details
                ? Results.Ok(RecordingManifest.From(details, time.GetUtcNow()))
                : Results.Problem($"No recording '{key}'.", statusCode: StatusCodes.Status404NotFound));
        return routes;
    }
}

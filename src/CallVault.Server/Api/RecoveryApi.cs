using CallVault.Server.Access;
using CallVault.Recovery;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Api;

/// <summary>
/// The recovery API: what dead-letter recovery did (<c>GET /api/recovery/dead-letters</c>) and the chunks it found too
/// late, after ACS had deleted them (<c>GET /api/recovery/lost</c>).
/// </summary>
internal static class RecoveryApi
{
    public static IEndpointRouteBuilder MapRecoveryApi(this IEndpointRouteBuilder routes)
    {
        // What recovery did and what it found too late: readers may see it.
        var api = routes.MapGroup("/api/recovery").WithTags("Recovery").RequireAuthorization(AccessPolicies.Reader);
        api.MapGet("/dead-letters", async (IDeadLetterRecoveryStore store, DeadLetterRecoveryService service, IOptionsMonitor<DeadLetterRecoveryOptions> options, int? take, CancellationToken cancellationToken) =>
        {
            var blobs = await store.ListBlobsAsync(take ?? 100, cancellationToken);
            return Results.Ok(new
            {
                configured = options.CurrentValue.IsConfigured,
                container = options.CurrentValue.ContainerName,
                pollInterval = options.CurrentValue.PollInterval,
                lastPassAt = service.LastPassAt,
                polling = service.LastPass?.Leader,
                lastError = service.LastError,
                recoveredChunks = await store.CountChunksAsync(DeadLetterChunkOutcome.Recovered, cancellationToken),
                lostChunks = await store.CountChunksAsync(DeadLetterChunkOutcome.Lost, cancellationToken),
                blobs = blobs.Select(b => new
                {
                    name = b.Name,
                    etag = b.ETag,
                    doneAt = b.DoneAt,
                    eventsRecovered = b.EventsRecovered,
                    newChunks = b.NewChunks,
                    eventsSkipped = b.EventsSkipped,
                    eventsLost = b.EventsLost,
                    eventsRejected = b.EventsRejected,
                    rejectedReason = b.RejectedReason,
                }),
            });
        }).WithSummary("Dead-letter recovery: whether it is configured, its last pass (polling is false when another instance holds the lease), counts of recovered and lost chunks, and the blobs read, most recent first (take up to 1,000, default 100).");

        api.MapGet("/lost", async (IDeadLetterRecoveryStore store, int? take, CancellationToken cancellationToken) =>
        {
            var lost = await store.ListChunksAsync(DeadLetterChunkOutcome.Lost, take ?? 100, cancellationToken);
            return Results.Ok(new
            {
                total = await store.CountChunksAsync(DeadLetterChunkOutcome.Lost, cancellationToken),
                chunks = lost.Select(c => new
                {
                    documentId = c.DocumentId,
                    recordingKey = c.RecordingKey,
                    recordingId = c.RecordingId,
                    callId = c.CallId,
                    chunkIndex = c.ChunkIndex,
                    eventId = c.EventId,
                    eventTime = c.EventTime,
                    acsExpiredAt = c.AcsExpiresAt,
                    blobName = c.BlobName,
                    foundAt = c.RecordedAt,
                }),
            });
        }).WithSummary("Chunks that reached CallVault only through a dead-letter blob after ACS's retention had run out: never downloaded, most recently found first (take up to 1,000, default 100); total counts them all.");
        return routes;
    }
}

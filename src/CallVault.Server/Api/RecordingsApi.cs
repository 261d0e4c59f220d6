using CallVault.Audit;
using CallVault.Jobs;
using CallVault.Processing;
using CallVault.Server.Access;
using CallVault.Server.Audit;
using CallVault.Storage;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Api;

/// <summary>
/// The read API: recordings with paging and a call-id filter, one recording as its manifest, and a chunk's media and
/// metadata streamed from the store with Range support (so a browser's player can seek). Reads of a recording's content
/// are kept in the access audit log (who, what, bytes sent, from where).
/// </summary>
internal static class RecordingsApi
{
    public static IEndpointRouteBuilder MapRecordingsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/recordings").WithTags("Recordings").RequireAuthorization(AccessPolicies.Reader);
        api.MapGet("/", async (
            IJobStore jobs,
            int? skip,
            int? take,
            string? callId,
            DateTimeOffset? from,
            DateTimeOffset? to,
            string? participant,
            string? status,
            string? sort,
            CancellationToken cancellationToken) =>
        {
            var order = RecordingSort.Newest;
            if (!string.IsNullOrEmpty(sort) && (!Enum.TryParse(sort, ignoreCase: true, out order) || !Enum.IsDefined(order)))
            {
                return Results.Problem($"Unknown sort '{sort}': use one of {string.Join(", ", Enum.GetNames<RecordingSort>())}.", statusCode: StatusCodes.Status400BadRequest);
            }

            string[] statuses = ["stored", "downloading", "partial", "pending", "failed"];
            if (!string.IsNullOrEmpty(status) && !statuses.Contains(status, StringComparer.OrdinalIgnoreCase))
            {
                return Results.Problem($"Unknown status '{status}': use one of {string.Join(", ", statuses)}.", statusCode: StatusCodes.Status400BadRequest);
            }

            var query = new RecordingQuery
            {
                Skip = skip ?? 0,
                Take = take ?? 50,
                CallId = callId,
                From = from,
                To = to,
                Participant = participant,
                Status = status,
                Sort = order,
            };
            var recordings = await jobs.Recordings.ListRecordingsAsync(query, cancellationToken);
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
                downloadingChunks = r.DownloadingChunks,
                participants = r.Participants,
                firstSeenAt = r.FirstSeenAt,
            }));
        }).WithSummary("Recordings: paging (skip, take up to 500), filters (callId, from/to start time, participant, status) and sort (Newest, Oldest, Longest, Largest).");

        // Every read of a recording's content (manifest, metadata, media), found or not, is kept in the access audit log.
        api.MapGet("/{key}", async (string key, IJobStore jobs, TimeProvider time, IOptionsMonitor<CallVaultOptions> options, CancellationToken cancellationToken) =>
            (await jobs.Recordings.GetRecordingAsync(key, cancellationToken) is { } details
                ? Results.Ok(RecordingManifest.From(details, time.GetUtcNow(), options.CurrentValue.AcsRetention) with { Hold = await jobs.Retention.GetHoldAsync(key, cancellationToken) })
                : await jobs.Retention.GetTombstoneAsync(key, cancellationToken) is { } tombstone ? RetentionApi.Gone(tombstone) : NotFound(key)).Audited(AccessAuditActions.ManifestRead, key))
            .WithSummary("One recording: its chunks, metadata and participants (the manifest), and its legal hold; 410 Gone with the tombstone once deleted.");

        api.MapGet("/{key}/chunks/{index:long}/media", (string key, long index, IJobStore jobs, IRecordingStore store, CancellationToken cancellationToken) =>
            StreamAsync(key, index, media: true, jobs, store, cancellationToken))
            .WithSummary("A stored chunk's media, with Range support.");
        api.MapGet("/{key}/chunks/{index:long}/metadata", (string key, long index, IJobStore jobs, IRecordingStore store, CancellationToken cancellationToken) =>
            StreamAsync(key, index, media: false, jobs, store, cancellationToken))
            .WithSummary("A stored chunk's metadata document.");
        return routes;
    }

    private static async Task<IResult> StreamAsync(string key, long index, bool media, IJobStore jobs, IRecordingStore store, CancellationToken cancellationToken)
    {
        var details = await jobs.Recordings.GetRecordingAsync(key, cancellationToken);
        var chunk = details?.Chunks.FirstOrDefault(c => c.Request.Index == index);
        var stored = media ? chunk?.Media : chunk?.Metadata;
        var action = media ? AccessAuditActions.MediaRead : AccessAuditActions.MetadataRead;
        if (stored is null)
        {
            return Results.Problem($"Recording '{key}' has no stored {(media ? "media" : "metadata")} for chunk {index}.", statusCode: StatusCodes.Status404NotFound)
                .Audited(action, key, chunk?.Request.DocumentId, index);
        }

        var stream = await store.OpenReadAsync(stored.Path, cancellationToken);
        return (stream is null
            ? Results.Problem($"The stored file for chunk {index} of '{key}' is missing from the store.", statusCode: StatusCodes.Status404NotFound)
            : Results.Stream(stream, stored.ContentType ?? "application/octet-stream", Path.GetFileName(stored.Path), enableRangeProcessing: true))
            .Audited(action, key, chunk!.Request.DocumentId, index);
    }

    private static IResult NotFound(string key) => Results.Problem($"No recording '{key}'.", statusCode: StatusCodes.Status404NotFound);
}

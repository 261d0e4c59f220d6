using CallVault.Acs.Recordings;
using CallVault.Audit;
using CallVault.Jobs;
using CallVault.Media;
using CallVault.Server.Access;
using CallVault.Server.Audit;
using CallVault.Storage;
using Microsoft.Net.Http.Headers;

namespace CallVault.Server.Api;

/// <summary>
/// What the dashboard draws: the activity timeline (<c>GET /api/stats/timeline</c>) and a chunk's waveform
/// (<c>GET /api/recordings/{key}/chunks/{index}/waveform</c>), both for readers.
/// </summary>
internal static class DashboardApi
{
    /// <summary>Buckets shown when no period is given: 48 hours, or 30 days.</summary>
    private const int DefaultHours = 48;
    private const int DefaultDays = 30;

    /// <summary>Slices of a waveform when none are asked for: 1,000, about a screen's width.</summary>
    private const int DefaultPoints = 1000;

    /// <summary>
    /// The dates a timeline may cover: from the Unix epoch to the start of year 9999, so that aligning to a whole day and
    /// stepping back a default period can never leave the calendar.
    /// </summary>
    private static readonly DateTimeOffset EarliestTimeline = DateTimeOffset.UnixEpoch;
    private static readonly DateTimeOffset LatestTimeline = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/stats/timeline", async (IJobStore jobs, TimeProvider time, string? bucket, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken) =>
        {
            var width = (bucket ?? "hour").ToUpperInvariant() switch
            {
                "HOUR" => TimeSpan.FromHours(1),
                "DAY" => TimeSpan.FromDays(1),
                _ => TimeSpan.Zero,
            };
            if (width == TimeSpan.Zero)
            {
                return Results.Problem($"Unknown bucket '{bucket}': use hour or day.", statusCode: StatusCodes.Status400BadRequest);
            }

            if (OutsideTimelineRange(from) || OutsideTimelineRange(to))
            {
                return Results.Problem($"from and to must be between {EarliestTimeline:yyyy-MM-ddTHH:mm:ssZ} and {LatestTimeline:yyyy-MM-ddTHH:mm:ssZ}.", statusCode: StatusCodes.Status400BadRequest);
            }

            var now = time.GetUtcNow();
            // Buckets start on whole UTC hours or days, so that the same hour is the same bucket on every request.
            var until = AlignUp(to ?? now, width);
            var start = from is { } f ? AlignDown(f, width) : until - (width * (width == TimeSpan.FromDays(1) ? DefaultDays : DefaultHours));
            var query = new TimelineQuery { From = start, Until = until, BucketWidth = width, Now = now };
            try
            {
                query.Validate();
            }
            catch (ArgumentException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest);
            }

            var points = await jobs.Recordings.GetTimelineAsync(query, cancellationToken);
            return Results.Ok(new
            {
                bucket = width == TimeSpan.FromDays(1) ? "day" : "hour",
                bucketSeconds = (long)width.TotalSeconds,
                from = start,
                until,
                now,
                points = points.Select(p => new
                {
                    start = p.Start,
                    end = p.End,
                    chunksStored = p.ChunksStored,
                    recordingsStored = p.RecordingsStored,
                    bytesStored = p.BytesStored,
                    // Averaged over the part of the bucket that has happened.
                    bytesPerSecond = Elapsed(p, now) is var elapsed && elapsed > 0 ? Math.Round(p.BytesStored / elapsed, 1) : 0,
                    failed = p.ChunksFailed,
                    backlog = p.Backlog,
                    oldestPendingSeconds = p.OldestPendingAge is { } age ? (long?)age.TotalSeconds : null,
                }),
            });
        })
        .WithTags("Dashboard")
        .RequireAuthorization(AccessPolicies.Reader)
        .WithSummary("Activity by hour or day (bucket=hour|day, from, to; default the last 48 hours or 30 days, at most 1,000 buckets): chunks, recordings and bytes stored, bytes per second, failures, and the backlog and its oldest chunk's age at each bucket's end, by the service's clock.");

        routes.MapGet("/api/recordings/{key}/chunks/{index:long}/waveform", ReadWaveformAsync)
            .WithTags("Recordings")
            .RequireAuthorization(AccessPolicies.Reader)
            .WithSummary("A stored PCM WAV chunk's peaks per channel (points slices of min and max, 1 to 4,000, default 1,000), each channel with its participant from the chunk's metadata, and the pauses in the chunk; 415 for media that is not PCM WAV, 422 for a WAV file whose header does not match its bytes. Peaks are kept in memory per media SHA-256 and width; ETag is that pair (If-None-Match answers 304); 429 with Retry-After when every decode slot (one per core) is busy.");
        return routes;
    }

    private static async Task<IResult> ReadWaveformAsync(string key, long index, int? points, HttpContext context, IJobStore jobs, IRecordingStore store, WaveformPeaks peaks, CancellationToken cancellationToken)
    {
        var slices = points ?? DefaultPoints;
        if (slices is < 1 or > WaveformReader.MaxPoints)
        {
            return Results.Problem($"points must be from 1 to {WaveformReader.MaxPoints}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var details = await jobs.Recordings.GetRecordingAsync(key, cancellationToken);
        var chunk = details?.Chunks.FirstOrDefault(c => c.Request.Index == index);
        if (chunk?.Media is not { } media)
        {
            return Results.Problem($"Recording '{key}' has no stored media for chunk {index}.", statusCode: StatusCodes.Status404NotFound)
                .Audited(AccessAuditActions.WaveformRead, key, chunk?.Request.DocumentId, index);
        }

        // The stored bytes never change under their SHA-256, so the hash and the width name the answer; the browser asks
        // again with If-None-Match each time (no-cache) and gets a 304 without any file being read.
        var etag = new EntityTagHeaderValue($"\"{media.Sha256}-{slices}\"");
        context.Response.Headers.CacheControl = "private, no-cache";
        context.Response.Headers.ETag = etag.ToString();
        var asked = context.Request.GetTypedHeaders().IfNoneMatch;
        if (asked.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(etag, useStrongComparison: false)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified).Audited(AccessAuditActions.WaveformRead, key, chunk.Request.DocumentId, index);
        }

        IResult answer;
        if (peaks.TryGet(media.Sha256, slices, out var kept))
        {
            answer = Results.Ok(ToJson(kept, chunk));
        }
        else
        {
            answer = await DecodeAsync(key, index, slices, media, chunk, context, store, peaks, cancellationToken);
        }

        return answer.Audited(AccessAuditActions.WaveformRead, key, chunk.Request.DocumentId, index);
    }

    private static async Task<IResult> DecodeAsync(string key, long index, int slices, StoredObjectInfo media, ChunkJob chunk, HttpContext context, IRecordingStore store, WaveformPeaks peaks, CancellationToken cancellationToken)
    {
        using var slot = peaks.TryStartDecode();
        if (slot is null)
        {
            context.Response.Headers.Remove(HeaderNames.ETag);
            context.Response.Headers.RetryAfter = "1";
            return Results.Problem("Every waveform decode slot is busy; try again in a second.", statusCode: StatusCodes.Status429TooManyRequests);
        }

        var stream = await store.OpenReadAsync(media.Path, cancellationToken);
        if (stream is null)
        {
            context.Response.Headers.Remove(HeaderNames.ETag);
            return Results.Problem($"The stored file for chunk {index} of '{key}' is missing from the store.", statusCode: StatusCodes.Status404NotFound);
        }

        await using (stream)
        {
            try
            {
                var waveform = await WaveformReader.ReadAsync(stream, media.Length, slices, cancellationToken);
                peaks.Keep(media.Sha256, slices, waveform);
                return Results.Ok(ToJson(waveform, chunk));
            }
            catch (UnsupportedMediaFormatException ex)
            {
                context.Response.Headers.Remove(HeaderNames.ETag);
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status415UnsupportedMediaType);
            }
            catch (InvalidDataException ex)
            {
                context.Response.Headers.Remove(HeaderNames.ETag);
                return Results.Problem($"The stored media of chunk {index} cannot be drawn: {ex.Message}", statusCode: StatusCodes.Status422UnprocessableEntity);
            }
        }
    }

    private static object ToJson(Waveform waveform, ChunkJob chunk)
    {
        RecordingMetadata? metadata = null;
        if (chunk.MetadataJson is { } json)
        {
            try
            {
                metadata = RecordingMetadata.Parse(System.Text.Encoding.UTF8.GetBytes(json));
            }
            catch (InvalidDataException)
            {
                // Stored as received: an unreadable document leaves the lanes unlabelled, the peaks are still right.
            }
        }

        var participants = metadata?.Participants ?? [];
        var mixed = waveform.Channels == 1 && participants.All(p => p.Channel is null or 0);
        return new
        {
            channels = waveform.Channels,
            sampleRate = waveform.SampleRate,
            frames = waveform.Frames,
            durationMs = Math.Round(waveform.Duration.TotalMilliseconds, 1),
            points = waveform.Min.Count == 0 ? 0 : waveform.Min[0].Length,
            lanes = Enumerable.Range(0, waveform.Channels).Select(channel => new
            {
                channel,
                // A mixed recording's one channel holds everyone; an unmixed one's channel holds the participant on it.
                participants = mixed
                    ? participants.Select(p => p.ParticipantId).ToArray()
                    : participants.Where(p => p.Channel == channel).Select(p => p.ParticipantId).ToArray(),
                min = waveform.Min[channel].Select(v => Math.Round(v, 3)),
                max = waveform.Max[channel].Select(v => Math.Round(v, 3)),
            }),
            pauses = (metadata?.Pauses ?? [])
                .Where(p => p.StartTime is not null && metadata!.ChunkStartTime is not null)
                .Select(p => new
                {
                    offsetMs = Math.Max(0, (p.StartTime!.Value - metadata!.ChunkStartTime!.Value).TotalMilliseconds),
                    durationMs = p.Duration?.TotalMilliseconds ?? 0,
                }),
        };
    }

    private static bool OutsideTimelineRange(DateTimeOffset? at) => at is { } value && (value < EarliestTimeline || value > LatestTimeline);

    private static double Elapsed(TimelinePoint point, DateTimeOffset now) =>
        ((point.End < now ? point.End : now) - point.Start).TotalSeconds;

    private static DateTimeOffset AlignDown(DateTimeOffset at, TimeSpan width)
    {
        var utc = at.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % width.Ticks), TimeSpan.Zero);
    }

    private static DateTimeOffset AlignUp(DateTimeOffset at, TimeSpan width)
    {
        var down = AlignDown(at, width);
        return down == at ? down : down + width;
    }
}

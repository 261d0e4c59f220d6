using System.Globalization;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The timeline's SQL (the same text on SQLite and PostgreSQL) and how its aggregates become points. Public so that
/// tests can ask each database for the statements' plans. Parameters: <c>@from</c> and <c>@until</c> in Unix
/// milliseconds, <c>@width</c> the bucket width in milliseconds.
/// </summary>
public static class TimelineStatements
{
    /// <summary>
    /// Chunks, recordings and bytes stored by bucket of <c>stored_at</c>: a range of the <c>chunks_stored</c> index,
    /// which holds every column it reads.
    /// </summary>
    public const string Stored =
        """
        SELECT bucket, COUNT(*), COUNT(DISTINCT recording_key), COALESCE(SUM(media_length), 0)
        FROM (SELECT (stored_at - @from) / @width AS bucket, recording_key, media_length
              FROM chunks WHERE stored_at >= @from AND stored_at < @until) s
        GROUP BY bucket;
        """;

    /// <summary>
    /// The chunks that were owed at some moment of the period, grouped by the bucket of their event (-1 before the
    /// period), the bucket they were completed in (null: still owed) and how (0 stored, 1 given up on), with their count
    /// and oldest event. Three index ranges: stored since the period's start (<c>chunks_stored</c>), dead-lettered since
    /// then (<c>chunks_due</c>), and still owed (<c>chunks_due</c>); chunks completed before the period are never read.
    /// A chunk is owed at a moment when its event is before it and its completion is not; at a bucket's end that is
    /// exactly "event bucket at or before it, completion bucket after it", so the counts give the backlog and its oldest
    /// event at every bucket end.
    /// </summary>
    public const string Owed =
        $"""
        SELECT event_bucket, done_bucket, kind, COUNT(*), MIN(event_time)
        FROM (SELECT CASE WHEN event_time < @from THEN -1 ELSE (event_time - @from) / @width END AS event_bucket,
                     CASE WHEN done_at IS NULL THEN NULL ELSE (done_at - @from) / @width END AS done_bucket,
                     kind, event_time
              FROM (SELECT event_time, stored_at AS done_at, 0 AS kind FROM chunks WHERE stored_at >= @from
                    UNION ALL
                    SELECT event_time, next_attempt_at, 1 FROM chunks WHERE state = '{ChunkStates.DeadLettered}' AND next_attempt_at >= @from
                    UNION ALL
                    SELECT event_time, NULL, 2 FROM chunks WHERE state IN ('{ChunkStates.Pending}', '{ChunkStates.Leased}')) owed) g
        GROUP BY event_bucket, done_bucket, kind;
        """;

    /// <summary>The parameters of both statements for a query.</summary>
    public static (string Name, object? Value)[] Parameters(TimelineQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return [("@from", query.From.ToUnixTimeMilliseconds()), ("@until", query.Until.ToUnixTimeMilliseconds()), ("@width", (long)query.BucketWidth.TotalMilliseconds)];
    }

    /// <summary>Runs both statements on one connection and builds the points.</summary>
    internal static Task<IReadOnlyList<TimelinePoint>> ReadAsync(RelationalDatabase database, TimelineQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var parameters = Parameters(query);
        return database.ReadAsync<IReadOnlyList<TimelinePoint>>(
            async session =>
            {
                var stored = await session.QueryAsync(
                    Stored,
                    reader => new StoredRow(Long(reader, 0), Long(reader, 1), Long(reader, 2), Long(reader, 3)),
                    cancellationToken,
                    parameters).ConfigureAwait(false);
                var owed = await session.QueryAsync(
                    Owed,
                    reader => new OwedRow(Long(reader, 0), reader.IsDBNull(1) ? null : Long(reader, 1), Long(reader, 2), Long(reader, 3), Long(reader, 4)),
                    cancellationToken,
                    parameters).ConfigureAwait(false);
                return Build(query, stored, owed);
            },
            cancellationToken);
    }

    /// <summary>
    /// The points from both statements' rows. A group is owed at the end of bucket b when its event bucket is at or
    /// before b and its completion bucket after b (never, while still owed), so one sweep over the buckets gives every
    /// backlog: the counts from a difference array, the oldest event from a min-heap that each group joins once (groups
    /// sorted by event bucket) and leaves lazily once it is at the top and done. O((buckets + groups) log groups) rather
    /// than buckets × groups (1,000 × a million groups was a billion steps on one request).
    /// </summary>
    internal static List<TimelinePoint> Build(TimelineQuery query, IReadOnlyList<StoredRow> stored, IReadOnlyList<OwedRow> owed)
    {
        var count = query.BucketCount;
        var storedByBucket = stored.ToDictionary(s => s.Bucket);
        var failedByBucket = owed.Where(o => o.Kind == 1 && o.DoneBucket is not null).GroupBy(o => o.DoneBucket!.Value).ToDictionary(g => g.Key, g => g.Sum(o => o.Count));

        // Each group as the half-open range of buckets whose end it is owed at: [max(event, 0), done).
        var joining = new List<(long From, long Until, long Count, long OldestEvent)>(owed.Count);
        var backlogChange = new long[count + 1];
        foreach (var group in owed)
        {
            var from = Math.Max(group.EventBucket, 0);
            var until = group.DoneBucket ?? long.MaxValue;
            if (from < until && from < count)
            {
                joining.Add((from, until, group.Count, group.OldestEvent));
                backlogChange[from] += group.Count;
                if (until < count)
                {
                    backlogChange[until] -= group.Count;
                }
            }
        }

        joining.Sort((a, b) => a.From.CompareTo(b.From));
        var owedNow = new PriorityQueue<long, long>(); // element: the bucket it stops being owed at; priority: its oldest event
        var next = 0;
        long running = 0;
        var points = new List<TimelinePoint>(count);
        for (var bucket = 0; bucket < count; bucket++)
        {
            running += backlogChange[bucket];
            for (; next < joining.Count && joining[next].From <= bucket; next++)
            {
                owedNow.Enqueue(joining[next].Until, joining[next].OldestEvent);
            }

            while (owedNow.TryPeek(out var until, out _) && until <= bucket)
            {
                owedNow.Dequeue();
            }

            var start = query.From + (query.BucketWidth * bucket);
            var end = start + query.BucketWidth;
            long? backlog = null;
            TimeSpan? oldestAge = null;
            if (start <= query.Now)
            {
                // Measured at the bucket's end, or now for the bucket that holds now: by now, whatever was completed is done.
                var complete = end <= query.Now;
                var at = complete ? end : query.Now;
                long? oldest;
                if (complete)
                {
                    backlog = running;
                    oldest = owedNow.TryPeek(out _, out var first) ? first : null;
                }
                else
                {
                    // Only one bucket holds now, so this pass over the groups happens once per request.
                    (backlog, oldest) = StillOwed(owed, bucket);
                }

                oldestAge = oldest is { } o ? TimeSpanMax(at - DateTimeOffset.FromUnixTimeMilliseconds(o), TimeSpan.Zero) : null;
            }

            storedByBucket.TryGetValue(bucket, out var s);
            points.Add(new TimelinePoint
            {
                Start = start,
                End = end,
                ChunksStored = s?.Chunks ?? 0,
                RecordingsStored = s?.Recordings ?? 0,
                BytesStored = s?.Bytes ?? 0,
                ChunksFailed = failedByBucket.GetValueOrDefault(bucket),
                Backlog = backlog,
                OldestPendingAge = oldestAge,
            });
        }

        return points;
    }

    private static (long Backlog, long? Oldest) StillOwed(IReadOnlyList<OwedRow> owed, int bucket)
    {
        long backlog = 0;
        long? oldest = null;
        foreach (var group in owed)
        {
            if (group.EventBucket <= bucket && group.DoneBucket is null)
            {
                backlog += group.Count;
                oldest = oldest is null ? group.OldestEvent : Math.Min(oldest.Value, group.OldestEvent);
            }
        }

        return (backlog, oldest);
    }

    private static TimeSpan TimeSpanMax(TimeSpan a, TimeSpan b) => a > b ? a : b;

    // SQLite answers integers as Int64, PostgreSQL's SUM over BIGINT as numeric: read both through Convert.
    private static long Long(System.Data.Common.DbDataReader reader, int ordinal) => Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    /// <summary>One row of <see cref="Stored"/>.</summary>
    internal sealed record StoredRow(long Bucket, long Chunks, long Recordings, long Bytes);

    /// <summary>One row of <see cref="Owed"/>.</summary>
    internal sealed record OwedRow(long EventBucket, long? DoneBucket, long Kind, long Count, long OldestEvent);
}

namespace CallVault.Jobs;

/// <summary>The period and bucket width of <see cref="IRecordingReadModel.GetTimelineAsync"/>.</summary>
public sealed record TimelineQuery
{
    /// <summary>The most buckets one timeline has, so that one request cannot ask the database for millions: 1,000.</summary>
    public const int MaxBuckets = 1000;

    /// <summary>Start of the first bucket.</summary>
    public required DateTimeOffset From { get; init; }

    /// <summary>End of the period (exclusive); the last bucket ends here, or at the first bucket boundary after it.</summary>
    public required DateTimeOffset Until { get; init; }

    /// <summary>The width of a bucket, at least one second (an hour or a day on the dashboard).</summary>
    public required TimeSpan BucketWidth { get; init; }

    /// <summary>The service's clock now: backlog and age in the bucket that holds it are measured at this moment.</summary>
    public required DateTimeOffset Now { get; init; }

    /// <summary>The number of buckets the period holds.</summary>
    public int BucketCount => (int)Math.Min(int.MaxValue, (long)Math.Ceiling((Until - From) / BucketWidth));

    /// <summary>Throws when the period is empty or reversed, a bucket is under a second, or there are over <see cref="MaxBuckets"/>.</summary>
    /// <exception cref="ArgumentException">The query is not valid; the message says why.</exception>
    public void Validate()
    {
        if (BucketWidth < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException("A bucket is at least one second wide.");
        }

        if (Until <= From)
        {
            throw new ArgumentException("The period's end must be after its start.");
        }

        if ((Until - From) / BucketWidth > MaxBuckets)
        {
            throw new ArgumentException($"A timeline has at most {MaxBuckets} buckets; ask for a shorter period or wider buckets.");
        }
    }
}

/// <summary>One bucket of a timeline.</summary>
public sealed record TimelinePoint
{
    /// <summary>Start of the bucket.</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>End of the bucket (exclusive).</summary>
    public required DateTimeOffset End { get; init; }

    /// <summary>Chunks stored in the bucket (by the time CallVault stored them).</summary>
    public long ChunksStored { get; init; }

    /// <summary>
    /// Recordings that had a chunk stored in the bucket. A recording whose chunks were stored in two buckets counts in
    /// both; most recordings' chunks are stored within seconds of each other.
    /// </summary>
    public long RecordingsStored { get; init; }

    /// <summary>Bytes of media stored in the bucket.</summary>
    public long BytesStored { get; init; }

    /// <summary>Chunks given up on (dead-lettered) in the bucket, including those refused at intake.</summary>
    public long ChunksFailed { get; init; }

    /// <summary>
    /// Chunks owed but not yet stored nor given up on, at the end of the bucket (or now, for the bucket that holds now):
    /// a chunk is owed from its event time, as ACS's retention counts. Null for a bucket that starts after now.
    /// </summary>
    public long? Backlog { get; init; }

    /// <summary>
    /// How long the oldest chunk owed at the end of the bucket (or now) had been waiting since its event; null when
    /// nothing was owed then, or the bucket starts after now.
    /// </summary>
    public TimeSpan? OldestPendingAge { get; init; }
}

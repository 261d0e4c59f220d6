namespace CallVault.Jobs;

/// <summary>
/// The durable queue of chunk jobs and the record of what was stored. Implementations: SQLite (embedded default) and
/// PostgreSQL (several instances). Every method is safe to call concurrently.
/// </summary>
/// <remarks>
/// Contract every implementation honours (checked by the job-store contract tests):
/// <list type="bullet">
/// <item><see cref="EnqueueAsync"/> returns only after the chunks are durably committed; enqueuing the same event id
/// or document id again changes nothing.</item>
/// <item>A chunk is leased by at most one owner at a time; a lease that is not renewed expires and the chunk can be
/// leased again. Oldest events are leased first.</item>
/// <item>Operations on a lease that was lost (expired and taken by another owner) throw <see cref="LeaseLostException"/>.</item>
/// </list>
/// </remarks>
public interface IJobStore
{
    /// <summary>Creates or upgrades the schema. Called once at start-up.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Durably records the chunks of one delivery's events, in one transaction.</summary>
    /// <returns>How many chunks were new, and how many event ids had been seen before.</returns>
    Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken);

    /// <summary>Leases the oldest chunk that is due, or returns null when none is.</summary>
    Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Extends a lease.</summary>
    /// <exception cref="LeaseLostException">The lease expired and another owner took the chunk.</exception>
    Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Records a step that is done (media stored, metadata stored, deleted from ACS), so it is not redone.</summary>
    /// <exception cref="LeaseLostException">The lease was lost.</exception>
    Task RecordProgressAsync(ChunkLease lease, ChunkProgress progress, CancellationToken cancellationToken);

    /// <summary>Marks the chunk stored and ends the lease.</summary>
    /// <exception cref="LeaseLostException">The lease was lost.</exception>
    Task CompleteAsync(ChunkLease lease, CancellationToken cancellationToken);

    /// <summary>Ends the lease after a failure: due again at <paramref name="retryAt"/>, or dead-lettered when it is null.</summary>
    /// <exception cref="LeaseLostException">The lease was lost.</exception>
    Task FailAsync(ChunkLease lease, string reason, DateTimeOffset? retryAt, CancellationToken cancellationToken);

    /// <summary>Ends the lease without counting the attempt (graceful shutdown); the chunk is due at once.</summary>
    Task ReleaseAsync(ChunkLease lease, CancellationToken cancellationToken);

    /// <summary>Makes a dead-lettered chunk due again now.</summary>
    /// <returns>False when there is no dead-lettered chunk with that id.</returns>
    Task<bool> RetryDeadLetterAsync(string documentId, CancellationToken cancellationToken);

    /// <summary>Recordings, newest first.</summary>
    Task<IReadOnlyList<RecordingSummary>> ListRecordingsAsync(RecordingQuery query, CancellationToken cancellationToken);

    /// <summary>One recording with its chunks, or null.</summary>
    Task<RecordingDetails?> GetRecordingAsync(string recordingKey, CancellationToken cancellationToken);

    /// <summary>Recordings that had a chunk stored at or after <paramref name="since"/>.</summary>
    Task<IReadOnlyList<string>> ListRecentlyStoredRecordingsAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Chunks in a state, oldest event first.</summary>
    Task<IReadOnlyList<ChunkJob>> ListChunksAsync(ChunkState state, int take, CancellationToken cancellationToken);

    /// <summary>Counts of chunks by state and the age of the oldest pending one.</summary>
    Task<JobStatistics> GetStatisticsAsync(CancellationToken cancellationToken);
}

/// <summary>One event's chunks, as enqueued.</summary>
/// <param name="EventId">The event id, recorded so a redelivery is recognised.</param>
/// <param name="Chunks">The chunks the event announced.</param>
public sealed record EventChunks(string EventId, IReadOnlyList<ChunkRequest> Chunks);

/// <summary>The outcome of <see cref="IJobStore.EnqueueAsync"/>.</summary>
/// <param name="NewChunksByEvent">For each event, in order, the chunks that were not known before.</param>
/// <param name="DuplicateEvents">Event ids that had been recorded before.</param>
public sealed record EnqueueResult(IReadOnlyList<int> NewChunksByEvent, int DuplicateEvents)
{
    /// <summary>Chunks that were not known before, over all events.</summary>
    public int NewChunks => NewChunksByEvent.Sum();
}

/// <summary>Conveniences over <see cref="IJobStore"/>.</summary>
public static class JobStoreExtensions
{
    /// <summary>Enqueues a single event's chunks.</summary>
    public static Task<EnqueueResult> EnqueueAsync(this IJobStore store, string eventId, IReadOnlyList<ChunkRequest> chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.EnqueueAsync([new EventChunks(eventId, chunks)], cancellationToken);
    }
}

/// <summary>A worker's hold on one chunk.</summary>
/// <param name="DocumentId">The chunk.</param>
/// <param name="Owner">Who holds it.</param>
/// <param name="Token">Tells this lease from a later one on the same chunk.</param>
/// <param name="Job">The chunk as it was when leased.</param>
public sealed record ChunkLease(string DocumentId, string Owner, string Token, ChunkJob Job);

/// <summary>A step done for a chunk.</summary>
public sealed record ChunkProgress
{
    /// <summary>The media, now stored.</summary>
    public StoredObjectInfo? Media { get; init; }

    /// <summary>The metadata document, now stored.</summary>
    public StoredObjectInfo? Metadata { get; init; }

    /// <summary>The metadata JSON, kept for the API.</summary>
    public string? MetadataJson { get; init; }

    /// <summary>When the chunk was deleted from ACS.</summary>
    public DateTimeOffset? DeletedFromAcsAt { get; init; }
}

/// <summary>A lease was lost: it expired and the chunk is someone else's now.</summary>
public sealed class LeaseLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LeaseLostException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public LeaseLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public LeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

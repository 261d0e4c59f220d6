namespace CallVault.Jobs;

/// <summary>The download queue: chunks go in durably and come out leased to one owner at a time.</summary>
/// <remarks>
/// Contract (checked by the queue contract suite on every backend):
/// <list type="bullet">
/// <item><see cref="EnqueueAsync"/> returns only after the chunks are durably committed; enqueuing the same event id
/// or document id again changes nothing, also when several instances enqueue the same documents at once.</item>
/// <item>A chunk is leased by at most one owner at a time; a lease that is not renewed expires and the chunk can be
/// leased again. Oldest events are leased first.</item>
/// <item>Renewing a lease that was lost (expired and taken by another owner) throws <see cref="LeaseLostException"/>.</item>
/// </list>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is the download queue; the name says so.")]
public interface IChunkQueue
{
    /// <summary>Durably records the chunks of one delivery's events, in one transaction.</summary>
    /// <returns>How many chunks were new, and how many event ids had been seen before.</returns>
    Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken);

    /// <summary>Leases the oldest chunk that is due, or returns null when none is.</summary>
    Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken);

    /// <summary>Extends a lease to <paramref name="leaseDuration"/> from now.</summary>
    /// <exception cref="LeaseLostException">The lease expired and another owner took the chunk.</exception>
    Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken);
}

/// <summary>One event's chunks, as enqueued.</summary>
/// <param name="EventId">The event id, recorded so a redelivery is recognised.</param>
/// <param name="Chunks">The chunks the event announced.</param>
public sealed record EventChunks(string EventId, IReadOnlyList<ChunkRequest> Chunks);

/// <summary>The outcome of <see cref="IChunkQueue.EnqueueAsync"/>.</summary>
/// <param name="NewChunksByEvent">For each event, in order, the chunks that were not known before.</param>
/// <param name="DuplicateEvents">Event ids that had been recorded before.</param>
public sealed record EnqueueResult(IReadOnlyList<int> NewChunksByEvent, int DuplicateEvents)
{
    /// <summary>Chunks that were not known before, over all events.</summary>
    public int NewChunks => NewChunksByEvent.Sum();
}

/// <summary>Conveniences over <see cref="IChunkQueue"/>.</summary>
public static class ChunkQueueExtensions
{
    /// <summary>Enqueues a single event's chunks.</summary>
    public static Task<EnqueueResult> EnqueueAsync(this IChunkQueue queue, string eventId, IReadOnlyList<ChunkRequest> chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return queue.EnqueueAsync([new EventChunks(eventId, chunks)], cancellationToken);
    }
}

/// <summary>A worker's hold on one chunk.</summary>
/// <param name="DocumentId">The chunk.</param>
/// <param name="Owner">Who holds it.</param>
/// <param name="Token">Tells this lease from a later one on the same chunk; every write for the chunk is fenced by it.</param>
/// <param name="Job">The chunk as it was when leased.</param>
public sealed record ChunkLease(string DocumentId, string Owner, string Token, ChunkJob Job)
{
    /// <summary>
    /// When the lease ends unless it is renewed: the expiry the store wrote with it, on the store's clock. Null when the
    /// store does not say; a holder then counts a lease duration from no later than when it asked for the lease.
    /// </summary>
    public DateTimeOffset? ExpiresAt { get; init; }
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

namespace CallVault.Jobs;

/// <summary>Chunks that were given up on (<see cref="ChunkState.DeadLettered"/>), and retrying them by hand.</summary>
public interface IDeadLetters
{
    /// <summary>Dead-lettered chunks, oldest event first; at most <paramref name="take"/> (1 to 1,000).</summary>
    Task<IReadOnlyList<ChunkJob>> ListAsync(int take, CancellationToken cancellationToken);

    /// <summary>
    /// Makes a dead-lettered chunk due again now, with its attempts reset, unless its recording was deleted or is being
    /// deleted: a chunk stored beside a tombstone would keep what the deletion removed, where retention never looks again.
    /// </summary>
    Task<DeadLetterRetryOutcome> RetryAsync(string documentId, CancellationToken cancellationToken);
}

/// <summary>What <see cref="IDeadLetters.RetryAsync"/> did.</summary>
public enum DeadLetterRetryOutcome
{
    /// <summary>The chunk is due again.</summary>
    Retried,

    /// <summary>There is no dead-lettered chunk with that id.</summary>
    NotFound,

    /// <summary>The chunk's recording has a tombstone or a deletion in progress; the chunk stays dead-lettered.</summary>
    RecordingDeleted,
}

namespace CallVault.Jobs;

/// <summary>Chunks that were given up on (<see cref="ChunkState.DeadLettered"/>), and retrying them by hand.</summary>
public interface IDeadLetters
{
    /// <summary>Dead-lettered chunks, oldest event first; at most <paramref name="take"/> (1 to 1,000).</summary>
    Task<IReadOnlyList<ChunkJob>> ListAsync(int take, CancellationToken cancellationToken);

    /// <summary>Makes a dead-lettered chunk due again now, with its attempts reset.</summary>
    /// <returns>False when there is no dead-lettered chunk with that id.</returns>
    Task<bool> RetryAsync(string documentId, CancellationToken cancellationToken);
}

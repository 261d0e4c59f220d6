namespace CallVault.Jobs;

/// <summary>What was recorded and stored, as the API, the CLI, the manifests and the health checks read it.</summary>
public interface IRecordingReadModel
{
    /// <summary>Recordings in the order and with the filters <paramref name="query"/> asks for; an unknown status finds none.</summary>
    Task<IReadOnlyList<RecordingSummary>> ListRecordingsAsync(RecordingQuery query, CancellationToken cancellationToken);

    /// <summary>One recording with its chunks, or null.</summary>
    Task<RecordingDetails?> GetRecordingAsync(string recordingKey, CancellationToken cancellationToken);

    /// <summary>Recordings that had a chunk stored at or after <paramref name="since"/>.</summary>
    Task<IReadOnlyList<string>> ListRecentlyStoredRecordingsAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Chunks in a state, oldest event first; at most <paramref name="take"/> (1 to 1,000).</summary>
    Task<IReadOnlyList<ChunkJob>> ListChunksAsync(ChunkState state, int take, CancellationToken cancellationToken);

    /// <summary>Counts of chunks by state and the age of the oldest pending one.</summary>
    Task<JobStatistics> GetStatisticsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The reconciliation report for a period: every chunk whose event time is in it with its state (stored, pending
    /// with time left, recovered, lost, exported, failed) grouped by recording, and the recording sessions created in it
    /// that have no recording yet.
    /// </summary>
    Task<ReconciliationReport> GetReconciliationAsync(ReconciliationQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Activity by time bucket over a period: chunks, recordings and bytes stored, chunks given up on, and the backlog and
    /// its oldest chunk's age at the end of each bucket. Aggregated in the database over indexed time columns, so its cost
    /// follows the chunks completed in the period and those still owed, not the whole history.
    /// </summary>
    /// <exception cref="ArgumentException">The query is not valid (see <see cref="TimelineQuery.Validate"/>).</exception>
    Task<IReadOnlyList<TimelinePoint>> GetTimelineAsync(TimelineQuery query, CancellationToken cancellationToken);
}

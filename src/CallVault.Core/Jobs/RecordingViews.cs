namespace CallVault.Jobs;

/// <summary>Filters and paging for <see cref="IRecordingReadModel.ListRecordingsAsync"/>.</summary>
public sealed record RecordingQuery
{
    /// <summary>Recordings to skip. Default 0. The cost of a page grows with it, by index entries rather than rows.</summary>
    public int Skip { get; init; }

    /// <summary>Recordings to return, 1 to 500. Default 50.</summary>
    public int Take { get; init; } = 50;

    /// <summary>Only this call id.</summary>
    public string? CallId { get; init; }

    /// <summary>Only recordings that started at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only recordings that started before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>
    /// Only recordings with this participant: its raw id (<c>4:+14255550123</c>, <c>8:acs:…</c>), the id without its
    /// kind prefix (<c>+14255550123</c>) or a phone number's digits (<c>14255550123</c>). Whole ids, not substrings.
    /// </summary>
    public string? Participant { get; init; }

    /// <summary>Only recordings in this status: <c>stored</c>, <c>partial</c>, <c>pending</c> or <c>failed</c>.</summary>
    public string? Status { get; init; }

    /// <summary>Order: <see cref="RecordingSort.Newest"/> (default), oldest, longest or largest first.</summary>
    public RecordingSort Sort { get; init; } = RecordingSort.Newest;
}

/// <summary>How recordings are ordered.</summary>
public enum RecordingSort
{
    /// <summary>Most recently seen first.</summary>
    Newest,

    /// <summary>Least recently seen first.</summary>
    Oldest,

    /// <summary>Longest recording first.</summary>
    Longest,

    /// <summary>Most bytes stored first.</summary>
    Largest,
}

/// <summary>A recording in a list.</summary>
public sealed record RecordingSummary
{
    /// <summary>The grouping key used in URLs.</summary>
    public required string Key { get; init; }

    /// <summary>What the event said about the recording.</summary>
    public required RecordingInfo Info { get; init; }

    /// <summary>Chunks known.</summary>
    public int Chunks { get; init; }

    /// <summary>Chunks stored.</summary>
    public int StoredChunks { get; init; }

    /// <summary>Chunks dead-lettered.</summary>
    public int DeadLetteredChunks { get; init; }

    /// <summary>Chunks being downloaded now.</summary>
    public int DownloadingChunks { get; init; }

    /// <summary>Participant raw ids known from the stored metadata.</summary>
    public IReadOnlyList<string> Participants { get; init; } = [];

    /// <summary>Bytes of media stored.</summary>
    public long StoredBytes { get; init; }

    /// <summary>When the first event for it arrived.</summary>
    public DateTimeOffset FirstSeenAt { get; init; }

    /// <summary><c>stored</c>, <c>downloading</c>, <c>partial</c>, <c>pending</c> or <c>failed</c>.</summary>
    public string Status => DeadLetteredChunks > 0 ? "failed" : StoredChunks == Chunks ? "stored" : DownloadingChunks > 0 ? "downloading" : StoredChunks > 0 ? "partial" : "pending";
}

/// <summary>A recording with its chunks.</summary>
/// <param name="Summary">The list view.</param>
/// <param name="Chunks">Its chunks in index order.</param>
public sealed record RecordingDetails(RecordingSummary Summary, IReadOnlyList<ChunkJob> Chunks);

/// <summary>Counts for health and metrics.</summary>
public sealed record JobStatistics
{
    /// <summary>Chunks by state.</summary>
    public required IReadOnlyDictionary<ChunkState, int> ByState { get; init; }

    /// <summary>The event time of the oldest chunk not yet stored.</summary>
    public DateTimeOffset? OldestPendingEventTime { get; init; }

    /// <summary>When the last event was accepted.</summary>
    public DateTimeOffset? LastEventReceivedAt { get; init; }
}

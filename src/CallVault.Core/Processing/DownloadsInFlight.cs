using System.Collections.Concurrent;
using CallVault.Acs.Downloads;
using CallVault.Jobs;

namespace CallVault.Processing;

/// <summary>
/// The chunks this process is downloading now, with the bytes received so far: the live progress the dashboard shows.
/// In memory and per process; each instance reports its own.
/// </summary>
public sealed class DownloadsInFlight
{
    private readonly ConcurrentDictionary<string, InFlightDownload> _downloads = new(StringComparer.Ordinal);

    /// <summary>Registers a download that starts now.</summary>
    public InFlightDownload Start(ChunkRequest request, DateTimeOffset startedAt)
    {
        ArgumentNullException.ThrowIfNull(request);
        var download = new InFlightDownload(request.DocumentId, request.Recording.Key, request.Index, startedAt);
        _downloads[request.DocumentId] = download;
        return download;
    }

    /// <summary>Removes a download that ended, however it ended.</summary>
    public void Finish(InFlightDownload download)
    {
        ArgumentNullException.ThrowIfNull(download);
        _downloads.TryRemove(new KeyValuePair<string, InFlightDownload>(download.DocumentId, download));
    }

    /// <summary>The downloads in flight, oldest first.</summary>
    public IReadOnlyList<InFlightDownload> Snapshot() => [.. _downloads.Values.OrderBy(d => d.StartedAt)];
}

/// <summary>
/// One chunk's download in flight: reported to by the downloader, read by the API, lock-free. Compared by reference, so
/// that a download that ends never removes a newer attempt at the same chunk.
/// </summary>
/// <param name="documentId">The chunk.</param>
/// <param name="recordingKey">Its recording.</param>
/// <param name="chunkIndex">Its index in the recording.</param>
/// <param name="startedAt">When this attempt started.</param>
public sealed class InFlightDownload(string documentId, string recordingKey, long chunkIndex, DateTimeOffset startedAt) : IProgress<AcsDownloadProgress>
{
    private long _bytes;
    private long _total = -1;

    /// <summary>The chunk.</summary>
    public string DocumentId { get; } = documentId;

    /// <summary>Its recording.</summary>
    public string RecordingKey { get; } = recordingKey;

    /// <summary>Its index in the recording.</summary>
    public long ChunkIndex { get; } = chunkIndex;

    /// <summary>When this attempt started.</summary>
    public DateTimeOffset StartedAt { get; } = startedAt;

    /// <summary>Media bytes stored so far, including any resumed from an earlier attempt.</summary>
    public long BytesReceived => Volatile.Read(ref _bytes);

    /// <summary>The media's size in bytes, once the service has said it.</summary>
    public long? TotalBytes => Volatile.Read(ref _total) is var total and >= 0 ? total : null;

    /// <inheritdoc />
    public void Report(AcsDownloadProgress value)
    {
        Volatile.Write(ref _bytes, value.BytesStored);
        if (value.TotalBytes is { } total)
        {
            Volatile.Write(ref _total, total);
        }
    }
}

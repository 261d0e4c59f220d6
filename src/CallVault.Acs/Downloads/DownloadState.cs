using System.Security.Cryptography;

namespace CallVault.Acs.Downloads;

/// <summary>
/// Where one download stands: what is stored, what the service said about the object, and what it cost. Written in
/// order by one writer at a time; the counters and the validators are safe to touch from every connection.
/// </summary>
internal sealed class DownloadState(
    AcsDownloadRequest request,
    AcsDownloadOptions options,
    Stream destination,
    IncrementalHash hash,
    IProgress<AcsDownloadProgress>? progress,
    DownloadConnectionCounter? connections)
{
    private const long ProgressStepBytes = 1024 * 1024;
    private readonly Lock _observeLock = new();
    private readonly long _objectStartPosition = destination.CanSeek ? destination.Position - request.ResumeOffset : -1;
    private long _bytesReceived;
    private int _requests;
    private int _errors;
    private int _open;
    private int _peak;
    private readonly DownloadConnectionCounter? _connections = connections;
    private long _lastReported = -1;

    public AcsDownloadRequest Request { get; } = request;

    public AcsDownloadOptions Options { get; } = options;

    /// <summary>Bytes of the object stored (written and hashed), from byte 0.</summary>
    public long Offset { get; private set; } = request.ResumeOffset;

    public long? Total { get; private set; }

    public string? ETag { get; private set; } = request.ETag;

    public string? ContentType { get; private set; }

    public int Restarts { get; private set; }

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Transient failures and throttling answers seen so far, over all connections.</summary>
    public int Errors => Volatile.Read(ref _errors);

    /// <summary>The most connections open at once.</summary>
    public int PeakConnections => Math.Max(1, Volatile.Read(ref _peak));

    public bool CanRestart => _objectStartPosition >= 0;

    /// <summary>Whether the service has said the object's size and that many bytes are stored.</summary>
    public bool IsComplete => Total is { } total && Offset >= total && (total > 0 || !Options.RejectEmptyContent);

    public void CountRequest() => Interlocked.Increment(ref _requests);

    public void CountError() => Interlocked.Increment(ref _errors);

    public void AddReceived(int count) => Interlocked.Add(ref _bytesReceived, count);

    /// <summary>A connection starts fetching; dispose the result when it stops.</summary>
    public ConnectionLease OpenConnection()
    {
        var open = Interlocked.Increment(ref _open);
        int peak;
        while (open > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, open, peak) != peak)
        {
        }

        _connections?.Add(1);
        return new ConnectionLease(this);
    }

    public void ObserveTotal(long? total)
    {
        if (total is not { } value)
        {
            return;
        }

        lock (_observeLock)
        {
            if (Total is { } known && known != value)
            {
                throw new AcsContentException(AcsContentProblem.Changed, $"The object's size changed from {known} to {value} bytes during the download.");
            }

            Total = value;
        }
    }

    public void ObserveResponse(HttpResponseMessage response)
    {
        lock (_observeLock)
        {
            ContentType ??= response.Content.Headers.ContentType?.MediaType;
            if (response.Headers.ETag is { IsWeak: false } etag)
            {
                if (ETag is { } known && !string.Equals(known, etag.Tag, StringComparison.Ordinal))
                {
                    throw new AcsContentException(AcsContentProblem.Changed, "The object's ETag changed during the download.");
                }

                ETag = etag.Tag;
            }
        }
    }

    /// <summary>
    /// Writes and hashes the next bytes of the object. A failure of the destination is thrown as a
    /// <see cref="DestinationWriteException"/>, which no retry handles: the hash may already hold the bytes whose
    /// write failed, and the destination may hold part of them, so this download cannot go on.
    /// </summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            // A file write may complete on the thread pool, so hashing the same bytes meanwhile overlaps the two.
            var write = destination.WriteAsync(bytes, cancellationToken);
            hash.AppendData(bytes.Span);
            await write.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new DestinationWriteException(ex);
        }

        Offset += bytes.Length;
        if (progress is not null && (Offset - _lastReported >= ProgressStepBytes || Offset == Total))
        {
            _lastReported = Offset;
            progress.Report(new AcsDownloadProgress(Offset, Total));
        }
    }

    /// <summary>Throws away what was stored and starts the object again from byte 0.</summary>
    public void Restart()
    {
        destination.Position = _objectStartPosition;
        destination.SetLength(_objectStartPosition);
        hash.GetHashAndReset();
        Offset = 0;
        Total = null;
        ETag = null;
        ContentType = null;
        _lastReported = -1;
        Restarts++;
    }

    /// <summary>One open connection, counted until disposed.</summary>
    public readonly struct ConnectionLease(DownloadState state) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.Decrement(ref state._open);
            state._connections?.Add(-1);
        }
    }
}

/// <summary>
/// Carries a failure of the caller's destination stream through the retry pipeline, which retries only the failures
/// it knows to be transient; the downloader unwraps it so the caller sees its own exception.
/// </summary>
internal sealed class DestinationWriteException(Exception inner) : Exception(inner.Message, inner);

using System.Buffers;

namespace CallVault.Acs.Downloads;

/// <summary>
/// Where a <see cref="RangeBody"/> puts the bytes it reads. The sink owns the position: every byte committed is the
/// object's byte at <see cref="Position"/>, and a body that fails resumes from there.
/// </summary>
internal interface IRangeSink
{
    /// <summary>Offset in the object of the next byte to commit.</summary>
    long Position { get; }

    /// <summary>Offset just past the last byte this sink accepts, or null when it takes bytes to the object's end.</summary>
    long? Limit { get; }

    /// <summary>Memory to read the next bytes into; empty when the sink has reached its limit.</summary>
    Memory<byte> GetMemory();

    /// <summary>Takes the first <paramref name="count"/> bytes of the memory last handed out.</summary>
    ValueTask CommitAsync(int count, CancellationToken cancellationToken);

    /// <summary>Stores whatever was committed. Called after every attempt, failed or not, before resuming.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Fills one part's buffer: the part path's sink. Bytes wait there until the scheduler writes the part in order.
/// </summary>
internal sealed class PartSink(ByteRange range, byte[] buffer) : IRangeSink
{
    public ByteRange Range { get; } = range;

    public byte[] Buffer { get; } = buffer;

    public int Filled { get; private set; }

    public long Position => Range.First + Filled;

    public long? Limit => Range.Last + 1;

    public Memory<byte> GetMemory() => Buffer.AsMemory(Filled, (int)(Range.Length - Filled));

    public ValueTask CommitAsync(int count, CancellationToken cancellationToken)
    {
        Filled += count;
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// Streams straight into the destination (with the hash): the single-stream path's sink, and the head of a parallel
/// download. Reads fill one of two pooled buffers; a full buffer is hashed and its write started, and the next buffer
/// is read while that write completes. No thread waits on another: the reads, the hash and the write hand over
/// through awaits, never through a spinning queue. The scheduler can <see cref="Cut"/> the range so that other
/// connections fetch what lies beyond.
/// </summary>
internal sealed class DestinationSink : IRangeSink, IDisposable
{
    private readonly DownloadState _state;
    private readonly byte[][] _buffers;
    private readonly Lock _lock = new();
    private int _current;
    private int _filled;
    private long _handedOutEnd;
    private Task? _pendingWrite;
    private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _failure;
    private long _position;
    private long? _limit;

    public DestinationSink(DownloadState state, long start)
    {
        _state = state;
        Start = start;
        _position = start;
        _handedOutEnd = start;
        var size = state.Options.ReadBufferBytes;
        _buffers = [ArrayPool<byte>.Shared.Rent(size), ArrayPool<byte>.Shared.Rent(size)];
    }

    /// <summary>Offset in the object of this sink's first byte.</summary>
    public long Start { get; }

    public long Position
    {
        get
        {
            lock (_lock)
            {
                return _position;
            }
        }
    }

    public long? Limit
    {
        get
        {
            lock (_lock)
            {
                return _limit;
            }
        }
    }

    /// <summary>
    /// Stops this sink at <paramref name="proposed"/>, or just after the bytes already handed out to a read when that
    /// is later, and returns where it now stops. A sink already stopping earlier keeps its limit.
    /// </summary>
    public long Cut(long proposed)
    {
        lock (_lock)
        {
            var limit = Math.Max(proposed, _handedOutEnd);
            _limit = _limit is { } known ? Math.Min(known, limit) : limit;
            return _limit.Value;
        }
    }

    /// <summary>
    /// Lifts the limit: the answer was the whole object (a <c>200</c>), which only this connection can carry. Only
    /// before anything past the limit was given to another range, which needs a <c>206</c> that said the size.
    /// </summary>
    public void Uncut()
    {
        lock (_lock)
        {
            _limit = null;
        }
    }

    public Memory<byte> GetMemory()
    {
        lock (_lock)
        {
            var buffer = _buffers[_current];
            var room = (long)(buffer.Length - _filled);
            if (_limit is { } limit)
            {
                room = Math.Min(room, limit - _position);
            }

            _handedOutEnd = _position + room;
            return buffer.AsMemory(_filled, (int)Math.Max(0, room));
        }
    }

    public async ValueTask CommitAsync(int count, CancellationToken cancellationToken)
    {
        bool full;
        lock (_lock)
        {
            _position += count;
            _filled += count;
            full = _filled == _buffers[_current].Length || _position == _limit;
        }

        if (full)
        {
            await WriteCurrentAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_filled > 0)
        {
            await WriteCurrentAsync(cancellationToken).ConfigureAwait(false);
        }

        await AwaitPendingWriteAsync().ConfigureAwait(false);
    }

    private async ValueTask WriteCurrentAsync(CancellationToken cancellationToken)
    {
        // Writes go out in order: the previous buffer's write must be done before this one starts (and before that
        // buffer is read into again).
        await AwaitPendingWriteAsync().ConfigureAwait(false);

        var write = _state.WriteAsync(_buffers[_current].AsMemory(0, _filled), cancellationToken);
        if (!write.IsCompletedSuccessfully)
        {
            _pendingWrite = write.AsTask();
            if (write.IsCompleted)
            {
                // Failed at once: report it now rather than after reading more.
                await AwaitPendingWriteAsync().ConfigureAwait(false);
            }
        }
        lock (_lock)
        {
            _current ^= 1;
            _filled = 0;
        }
    }

    /// <summary>
    /// Waits for the write in flight. After a failed write nothing more is written: the bytes after it would not be
    /// the object's bytes at the destination's offset.
    /// </summary>
    private async ValueTask AwaitPendingWriteAsync()
    {
        _failure?.Throw();
        if (_pendingWrite is { } pending)
        {
            _pendingWrite = null;
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex);
                throw;
            }
        }
    }

    public void Dispose()
    {
        // Only after FlushAsync (or a failure that ends the download): no write still reads these buffers then.
        if (_pendingWrite is { IsCompleted: false })
        {
            return;
        }

        foreach (var buffer in _buffers)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

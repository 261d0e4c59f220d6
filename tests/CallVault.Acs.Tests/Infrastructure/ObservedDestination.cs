namespace CallVault.Acs.Tests.Infrastructure;

/// <summary>
/// An in-memory destination that shows what a download has really stored: a test (or the fault server, through
/// <c>Fault.HoldBeforeReset</c>) can wait until it holds a given number of bytes, and one write can be made to fail
/// as a full disk would, before any of its bytes are stored.
/// </summary>
internal sealed class ObservedDestination : Stream
{
    private readonly MemoryStream _bytes = new();
    private readonly Lock _lock = new();
    private readonly List<(long Length, TaskCompletionSource Reached)> _waiters = [];
    private int _writes;

    /// <summary>The write (counted from 1) that throws <see cref="Failure"/> instead of storing its bytes; 0 for none.</summary>
    public int FailingWrite { get; init; }

    /// <summary>What <see cref="FailingWrite"/> throws.</summary>
    public IOException Failure { get; } = new("No space left on device (injected by the test).");

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => true;

    public override long Length
    {
        get
        {
            lock (_lock)
            {
                return _bytes.Length;
            }
        }
    }

    public override long Position
    {
        get
        {
            lock (_lock)
            {
                return _bytes.Position;
            }
        }

        set
        {
            lock (_lock)
            {
                _bytes.Position = value;
            }
        }
    }

    public byte[] ToArray()
    {
        lock (_lock)
        {
            return _bytes.ToArray();
        }
    }

    /// <summary>Completes once the destination holds at least <paramref name="length"/> bytes.</summary>
    public Task WhenLengthReachesAsync(long length, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_bytes.Length >= length)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((length, reached));
            return reached.Task.WaitAsync(cancellationToken);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_lock)
        {
            if (++_writes == FailingWrite)
            {
                throw Failure;
            }

            _bytes.Write(buffer);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_bytes.Length >= _waiters[i].Length)
                {
                    _waiters[i].Reached.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // Asynchronous like a file write, so the downloader's hashing overlaps it as it does in production.
        return new ValueTask(Task.Run(() => Write(buffer.Span), cancellationToken));
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        lock (_lock)
        {
            return _bytes.Read(buffer, offset, count);
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        lock (_lock)
        {
            return _bytes.Seek(offset, origin);
        }
    }

    public override void SetLength(long value)
    {
        lock (_lock)
        {
            _bytes.SetLength(value);
        }
    }

    public override void Flush()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bytes.Dispose();
        }

        base.Dispose(disposing);
    }
}

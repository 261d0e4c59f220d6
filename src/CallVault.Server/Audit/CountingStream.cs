namespace CallVault.Server.Audit;

/// <summary>
/// A write-only pass-through that counts the bytes handed to the inner stream. A write is counted as it starts: when the
/// caller goes away while a write waits for the connection to drain, part of it may already be on the wire, so the
/// count errs towards more rather than less (an audit must not understate what left).
/// </summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    private long _bytesWritten;

    /// <summary>Bytes handed to the inner stream so far.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Interlocked.Add(ref _bytesWritten, count);
        inner.Write(buffer, offset, count);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Interlocked.Add(ref _bytesWritten, buffer.Length);
        inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesWritten, buffer.Length);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

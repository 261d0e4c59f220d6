namespace CallVault.Acs.Internal;

/// <summary>A memory stream that refuses to grow past a limit, so a hostile server cannot exhaust memory.</summary>
internal sealed class BoundedMemoryStream(int maxLength) : MemoryStream
{
    public override void Write(byte[] buffer, int offset, int count)
    {
        EnsureRoom(count);
        base.Write(buffer, offset, count);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnsureRoom(buffer.Length);
        base.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        EnsureRoom(count);
        return base.WriteAsync(buffer, offset, count, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureRoom(buffer.Length);
        return base.WriteAsync(buffer, cancellationToken);
    }

    private void EnsureRoom(int count)
    {
        if (Position + count > maxLength)
        {
            throw new InvalidDataException($"The document is larger than {maxLength} bytes.");
        }
    }
}

namespace CallVault.Emulator.Media;

/// <summary>A small object held in memory, such as a metadata document.</summary>
public sealed class MemoryMedia(ReadOnlyMemory<byte> bytes, string contentType) : IMediaSource
{
    /// <inheritdoc />
    public long Length => bytes.Length;

    /// <inheritdoc />
    public string ContentType { get; } = contentType;

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination) => bytes.Span.Slice((int)offset, destination.Length).CopyTo(destination);
}

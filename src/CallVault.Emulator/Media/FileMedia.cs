namespace CallVault.Emulator.Media;

/// <summary>An object backed by a file, for media that an encoder produced (MP3, MP4).</summary>
public sealed class FileMedia(string path, string contentType) : IMediaSource
{
    /// <inheritdoc />
    public long Length { get; } = new FileInfo(path).Length;

    /// <inheritdoc />
    public string ContentType { get; } = contentType;

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination)
    {
        using var handle = File.OpenHandle(path);
        RandomAccess.Read(handle, destination, offset);
    }
}

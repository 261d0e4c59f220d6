namespace CallVault.Emulator.Media;

/// <summary>The bytes of one stored object, produced for any range without holding the object in memory.</summary>
public interface IMediaSource
{
    /// <summary>The object's length in bytes.</summary>
    long Length { get; }

    /// <summary>The MIME type served with it.</summary>
    string ContentType { get; }

    /// <summary>Writes bytes <c>[offset, offset + destination.Length)</c> into <paramref name="destination"/>.</summary>
    void Read(long offset, Span<byte> destination);
}

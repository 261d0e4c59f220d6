using System.Buffers.Binary;

namespace CallVault.Emulator.Media;

/// <summary>
/// Deterministic pseudo-random bytes of any length (many GB included), computed from a seed and the offset: byte
/// <c>i</c> is byte <c>i % 8</c> of SplitMix64(seed + i / 8). Nothing is stored; any range is produced on demand.
/// </summary>
public sealed class SyntheticMedia(ulong seed, long length, string contentType) : IMediaSource
{
    /// <inheritdoc />
    public long Length { get; } = length;

    /// <inheritdoc />
    public string ContentType { get; } = contentType;

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + destination.Length, Length);
        Span<byte> word = stackalloc byte[8];
        var written = 0;
        while (written < destination.Length)
        {
            var position = offset + written;
            var wordIndex = (ulong)(position / 8);
            var within = (int)(position % 8);
            if (within == 0 && destination.Length - written >= 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(destination[written..], Mix(seed + wordIndex));
                written += 8;
                continue;
            }

            BinaryPrimitives.WriteUInt64LittleEndian(word, Mix(seed + wordIndex));
            var count = Math.Min(8 - within, destination.Length - written);
            word.Slice(within, count).CopyTo(destination[written..]);
            written += count;
        }
    }

    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

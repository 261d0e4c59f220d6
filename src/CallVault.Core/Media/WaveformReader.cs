using System.Buffers;
using System.Buffers.Binary;

namespace CallVault.Media;

/// <summary>
/// Peaks of a PCM WAV file for drawing its waveform: for each channel, the minimum and maximum sample of each of N
/// equal slices of the audio. Streams the file once through a fixed 64 KiB buffer, so memory is bounded by N and the
/// channel count (at most <see cref="MaxPoints"/> × <see cref="MaxChannels"/> pairs), never by the file or by what its
/// header claims. A header that lies (sizes past the end of the file, a block size that does not match the format) or a
/// file that ends early is refused with <see cref="InvalidDataException"/>; a file that is not PCM WAV with
/// <see cref="UnsupportedMediaFormatException"/>.
/// </summary>
public static class WaveformReader
{
    /// <summary>The most slices one answer has: 4,000 (wider than any screen's waveform).</summary>
    public const int MaxPoints = 4000;

    /// <summary>The most channels read: 32 (ACS's unmixed audio has at most 5).</summary>
    public const int MaxChannels = 32;

    private const int MaxChunksBeforeData = 64;
    private const int BufferBytes = 64 * 1024;
    private const ushort FormatPcm = 1;
    private const ushort FormatFloat = 3;
    private const ushort FormatExtensible = 0xFFFE;

    /// <summary>Reads the peaks of a WAV stream.</summary>
    /// <param name="stream">The file, from its first byte; read forwards only.</param>
    /// <param name="length">The file's length in bytes, as stored; no header size may reach past it.</param>
    /// <param name="points">Slices wanted, 1 to <see cref="MaxPoints"/>; fewer when the audio has fewer frames.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <exception cref="UnsupportedMediaFormatException">Not a WAV file, or not PCM (integer 8/16/24/32-bit or 32-bit float).</exception>
    /// <exception cref="InvalidDataException">A WAV file whose header is inconsistent or that ends early.</exception>
    public static async Task<Waveform> ReadAsync(Stream stream, long length, int points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(points, MaxPoints);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            var position = 0L;
            var riff = await ReadHeaderAsync(stream, buffer, 12, cancellationToken).ConfigureAwait(false);
            if (riff < 4 || !buffer.AsSpan(0, 4).SequenceEqual("RIFF"u8))
            {
                throw new UnsupportedMediaFormatException("The media is not a WAV file (no RIFF header); waveforms are drawn for PCM WAV only.");
            }

            if (riff < 12 || !buffer.AsSpan(8, 4).SequenceEqual("WAVE"u8))
            {
                throw riff < 12
                    ? new InvalidDataException("The WAV file ends inside its RIFF header.")
                    : new UnsupportedMediaFormatException("The RIFF file is not WAVE audio; waveforms are drawn for PCM WAV only.");
            }

            position = 12;
            WaveFormat? format = null;
            for (var chunk = 0; chunk < MaxChunksBeforeData; chunk++)
            {
                if (await ReadHeaderAsync(stream, buffer, 8, cancellationToken).ConfigureAwait(false) < 8)
                {
                    throw new InvalidDataException(format is null ? "The WAV file has no format ('fmt ') chunk." : "The WAV file has no data chunk.");
                }

                position += 8;
                var id = System.Text.Encoding.ASCII.GetString(buffer, 0, 4);
                long size = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(4));
                var remaining = length - position;
                if (size > remaining)
                {
                    throw new InvalidDataException($"The WAV header's '{Printable(id)}' chunk claims {size} bytes but the file holds only {Math.Max(0, remaining)} more: the file is truncated or its header is wrong.");
                }

                if (id == "fmt ")
                {
                    format = await ReadFormatAsync(stream, buffer, size, cancellationToken).ConfigureAwait(false);
                }
                else if (id == "data")
                {
                    if (format is null)
                    {
                        throw new InvalidDataException("The WAV file's data chunk comes before its format ('fmt ') chunk.");
                    }

                    return await ReadPeaksAsync(stream, buffer, format, size, points, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await SkipAsync(stream, buffer, size + (size & 1), cancellationToken).ConfigureAwait(false);
                }

                position += size + (size & 1);
            }

            throw new InvalidDataException($"The WAV file has more than {MaxChunksBeforeData} chunks before its audio data.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<WaveFormat> ReadFormatAsync(Stream stream, byte[] buffer, long size, CancellationToken cancellationToken)
    {
        if (size < 16)
        {
            throw new InvalidDataException($"The WAV format chunk is {size} bytes; it needs at least 16.");
        }

        // Only the first 40 bytes mean anything to us (the extensible format's sub-format ends there); the rest is skipped.
        var kept = (int)Math.Min(size, 40);
        await ReadExactlyAsync(stream, buffer.AsMemory(0, kept), cancellationToken).ConfigureAwait(false);
        var span = buffer.AsSpan(0, kept);
        var tag = BinaryPrimitives.ReadUInt16LittleEndian(span);
        var channels = BinaryPrimitives.ReadUInt16LittleEndian(span[2..]);
        var sampleRate = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        var blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(span[12..]);
        var bits = BinaryPrimitives.ReadUInt16LittleEndian(span[14..]);
        if (tag == FormatExtensible && kept >= 26)
        {
            // The sub-format GUID starts with the plain format tag.
            tag = BinaryPrimitives.ReadUInt16LittleEndian(span[24..]);
        }

        await SkipAsync(stream, buffer, size - kept + (size & 1), cancellationToken).ConfigureAwait(false);
        if (!((tag == FormatPcm && bits is 8 or 16 or 24 or 32) || (tag == FormatFloat && bits == 32)))
        {
            throw new UnsupportedMediaFormatException($"The WAV file is encoded as format 0x{tag:X4} with {bits}-bit samples; waveforms are drawn for PCM (8, 16, 24 or 32-bit integer, or 32-bit float) only.");
        }

        if (channels == 0 || sampleRate == 0)
        {
            throw new InvalidDataException($"The WAV format chunk says {channels} channels at {sampleRate} Hz.");
        }

        if (channels > MaxChannels)
        {
            throw new UnsupportedMediaFormatException($"The WAV file has {channels} channels; waveforms are drawn for PCM WAV of at most {MaxChannels} channels.");
        }

        if (blockAlign != channels * (bits / 8))
        {
            throw new InvalidDataException($"The WAV format chunk's block size ({blockAlign} bytes) does not match {channels} channels of {bits}-bit samples.");
        }

        return new WaveFormat(tag, channels, (int)Math.Min(sampleRate, int.MaxValue), blockAlign, bits);
    }

    private static async Task<Waveform> ReadPeaksAsync(Stream stream, byte[] buffer, WaveFormat format, long dataBytes, int points, CancellationToken cancellationToken)
    {
        var frames = dataBytes / format.BlockAlign;
        var slices = (int)Math.Min(points, frames);
        var min = new float[format.Channels][];
        var max = new float[format.Channels][];
        for (var c = 0; c < format.Channels; c++)
        {
            min[c] = new float[slices];
            max[c] = new float[slices];
        }

        // Whole frames per read, so that a frame never straddles two reads.
        var chunkBytes = BufferBytes / format.BlockAlign * format.BlockAlign;
        var bytesPerSample = format.Bits / 8;
        long frame = 0;
        var current = -1;
        var left = frames * format.BlockAlign;
        while (left > 0)
        {
            var want = (int)Math.Min(chunkBytes, left);
            var got = await ReadAtLeastAsync(stream, buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
            if (got < want)
            {
                throw new InvalidDataException($"The WAV file ends after {(frames * format.BlockAlign) - left + got} of the {dataBytes} data bytes its header claims: it is truncated.");
            }

            for (var offset = 0; offset < got; offset += format.BlockAlign, frame++)
            {
                var slice = (int)(frame * slices / frames);
                var first = slice != current;
                current = slice;
                for (var c = 0; c < format.Channels; c++)
                {
                    var value = Sample(buffer.AsSpan(offset + (c * bytesPerSample), bytesPerSample), format);
                    if (first || value < min[c][slice])
                    {
                        min[c][slice] = value;
                    }

                    if (first || value > max[c][slice])
                    {
                        max[c][slice] = value;
                    }
                }
            }

            left -= got;
        }

        return new Waveform(format.Channels, format.SampleRate, frames, min, max);
    }

    private static float Sample(ReadOnlySpan<byte> bytes, WaveFormat format)
    {
        var value = format.Bits switch
        {
            8 => (bytes[0] - 128) / 128f,
            16 => BinaryPrimitives.ReadInt16LittleEndian(bytes) / 32768f,
            24 => (bytes[0] | (bytes[1] << 8) | ((sbyte)bytes[2] << 16)) / 8388608f,
            _ when format.Tag == FormatFloat => BinaryPrimitives.ReadSingleLittleEndian(bytes),
            _ => BinaryPrimitives.ReadInt32LittleEndian(bytes) / 2147483648f,
        };
        return float.IsNaN(value) ? 0 : Math.Clamp(value, -1f, 1f);
    }

    private static async Task<int> ReadHeaderAsync(Stream stream, byte[] buffer, int count, CancellationToken cancellationToken) =>
        await ReadAtLeastAsync(stream, buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);

    private static async Task<int> ReadAtLeastAsync(Stream stream, Memory<byte> destination, CancellationToken cancellationToken) =>
        await stream.ReadAtLeastAsync(destination, destination.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

    private static async Task ReadExactlyAsync(Stream stream, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (await ReadAtLeastAsync(stream, destination, cancellationToken).ConfigureAwait(false) < destination.Length)
        {
            throw new InvalidDataException("The WAV file ends inside its header.");
        }
    }

    private static async Task SkipAsync(Stream stream, byte[] buffer, long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            var want = (int)Math.Min(buffer.Length, count);
            var got = await stream.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
            if (got == 0)
            {
                throw new InvalidDataException("The WAV file ends inside a chunk its header announces: it is truncated.");
            }

            count -= got;
        }
    }

    private static string Printable(string id) => new([.. id.Select(c => c is >= ' ' and <= '~' ? c : '?')]);

    private sealed record WaveFormat(ushort Tag, int Channels, int SampleRate, int BlockAlign, int Bits);
}

/// <summary>The peaks of a WAV file's audio, per channel.</summary>
/// <param name="Channels">Audio channels.</param>
/// <param name="SampleRate">Frames per second.</param>
/// <param name="Frames">Frames of audio (one sample per channel each).</param>
/// <param name="Min">Per channel, the lowest sample of each slice, from -1 to 1.</param>
/// <param name="Max">Per channel, the highest sample of each slice, from -1 to 1.</param>
public sealed record Waveform(int Channels, int SampleRate, long Frames, IReadOnlyList<float[]> Min, IReadOnlyList<float[]> Max)
{
    /// <summary>The audio's length.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds((double)Frames / SampleRate);
}

/// <summary>Media CallVault cannot decode for a waveform (not PCM WAV); the API answers 415 with the message.</summary>
public sealed class UnsupportedMediaFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UnsupportedMediaFormatException()
    {
    }

    /// <summary>Creates the exception with a message that says what the media is and what is supported.</summary>
    public UnsupportedMediaFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public UnsupportedMediaFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

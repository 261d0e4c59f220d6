using System.Buffers.Binary;

namespace CallVault.Emulator.Media;

/// <summary>
/// A real, playable 16-bit PCM WAV file produced on the fly: each channel carries its own tone, and each participant
/// "speaks" in turns so that unmixed channels are told apart by ear; pauses are silent. Any range is computed from
/// the frame index, so a multi-hour file costs no memory.
/// </summary>
public sealed class ToneWaveMedia : IMediaSource
{
    /// <summary>Bytes of the RIFF/WAVE header.</summary>
    public const int HeaderLength = 44;
    private const int BytesPerSample = 2;
    private static readonly double[] ChannelFrequencies = [440.0, 554.37, 659.25, 783.99, 880.0];

    private readonly byte[] _header;
    private readonly int _sampleRate;
    private readonly int _channels;
    private readonly long _frames;
    private readonly long _firstFrame;
    private readonly IReadOnlyList<(long StartFrame, long EndFrame)> _silences;

    /// <summary>Creates the WAV for frames <c>[firstFrame, firstFrame + frames)</c> of a recording.</summary>
    /// <param name="sampleRate">Samples per second per channel, e.g. 16000.</param>
    /// <param name="channels">Channels, 1 to 5.</param>
    /// <param name="firstFrame">The recording frame this chunk starts at (tones continue across chunks).</param>
    /// <param name="frames">Frames in this chunk.</param>
    /// <param name="silences">Recording frame ranges that are silent (pauses).</param>
    public ToneWaveMedia(int sampleRate, int channels, long firstFrame, long frames, IReadOnlyList<(long StartFrame, long EndFrame)> silences)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, ChannelFrequencies.Length);
        _sampleRate = sampleRate;
        _channels = channels;
        _firstFrame = firstFrame;
        _frames = frames;
        _silences = silences;
        var dataLength = frames * channels * BytesPerSample;
        if (dataLength > uint.MaxValue - HeaderLength)
        {
            throw new ArgumentOutOfRangeException(nameof(frames), "A WAV file cannot exceed 4 GiB.");
        }

        Length = HeaderLength + dataLength;
        _header = BuildHeader(sampleRate, channels, (uint)dataLength);
    }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public string ContentType => "audio/wav";

    /// <summary>Bytes per second of audio.</summary>
    public static long BytesPerSecond(int sampleRate, int channels) => (long)sampleRate * channels * BytesPerSample;

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + destination.Length, Length);
        var written = 0;
        if (offset < HeaderLength)
        {
            var count = (int)Math.Min(HeaderLength - offset, destination.Length);
            _header.AsSpan((int)offset, count).CopyTo(destination);
            written = count;
        }

        Span<byte> sample = stackalloc byte[BytesPerSample];
        while (written < destination.Length)
        {
            var dataOffset = offset + written - HeaderLength;
            var sampleIndex = dataOffset / BytesPerSample;
            var within = (int)(dataOffset % BytesPerSample);
            var frame = _firstFrame + (sampleIndex / _channels);
            var channel = (int)(sampleIndex % _channels);
            BinaryPrimitives.WriteInt16LittleEndian(sample, SampleAt(frame, channel));
            var take = Math.Min(BytesPerSample - within, destination.Length - written);
            sample.Slice(within, take).CopyTo(destination[written..]);
            written += take;
        }
    }

    private short SampleAt(long frame, int channel)
    {
        foreach (var (start, end) in _silences)
        {
            if (frame >= start && frame < end)
            {
                return 0;
            }
        }

        // Each channel's speaker talks for 1.5 s in turn; in a mono mix all turns are heard.
        if (_channels > 1)
        {
            var turn = frame / (_sampleRate * 3 / 2) % _channels;
            if (turn != channel)
            {
                return 0;
            }
        }

        var seconds = (double)frame / _sampleRate;
        var frequency = ChannelFrequencies[channel];
        return (short)(Math.Sin(2 * Math.PI * frequency * seconds) * 8000);
    }

    private static byte[] BuildHeader(int sampleRate, int channels, uint dataLength)
    {
        var header = new byte[HeaderLength];
        var span = header.AsSpan();
        "RIFF"u8.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], dataLength + HeaderLength - 8);
        "WAVE"u8.CopyTo(span[8..]);
        "fmt "u8.CopyTo(span[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)(sampleRate * channels * BytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], (ushort)(channels * BytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], 16);
        "data"u8.CopyTo(span[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[40..], dataLength);
        return header;
    }
}

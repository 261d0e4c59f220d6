using System.Buffers.Binary;
using CallVault.Media;

namespace CallVault.Core.Tests.Media;

/// <summary>Peaks of PCM WAV files, and clear refusals for files that are not PCM WAV or whose header lies.</summary>
public sealed class WaveformReaderTests
{
    [Fact]
    public async Task Peaks_AreTheMinAndMaxOfEachSlicePerChannel()
    {
        // Channel 0 speaks in the first half, channel 1 in the second.
        short[][] frames = [[16384, 0], [-16384, 0], [8192, 0], [-8192, 0], [0, 32767], [0, -32768], [0, 4096], [0, -4096]];
        var wave = Wav(frames);

        var peaks = await ReadAsync(wave, points: 4);

        Assert.Equal((2, 16_000, 8L), (peaks.Channels, peaks.SampleRate, peaks.Frames));
        Assert.Equal([-0.5f, -0.25f, 0, 0], peaks.Min[0]);
        Assert.Equal([0.5f, 0.25f, 0, 0], peaks.Max[0]);
        Assert.Equal([0, 0, -1f, -0.125f], peaks.Min[1]);
        Assert.Equal([0, 0, 32767 / 32768f, 0.125f], peaks.Max[1]);
    }

    [Fact]
    public async Task FewerFramesThanPoints_GiveOneSlicePerFrame_AndOtherChunksAreSkipped()
    {
        var wave = Wav([[1000], [-1000], [0]], extraChunk: "LIST", extraChunkLength: 5);

        var peaks = await ReadAsync(wave, points: 1000);

        Assert.Equal(3, peaks.Min[0].Length);
        Assert.Equal([1000 / 32768f, -1000 / 32768f, 0], peaks.Max[0]);
    }

    [Fact]
    public async Task EmptyAudio_HasNoSlices()
    {
        var peaks = await ReadAsync(Wav([]), points: 100);

        Assert.Equal(0L, peaks.Frames);
        Assert.Empty(peaks.Min[0]);
    }

    [Theory]
    [InlineData("mp3")]
    [InlineData("empty")]
    [InlineData("adpcm")]
    [InlineData("float64")]
    [InlineData("channels")]
    public async Task NotPcmWav_IsRefusedAsUnsupported(string kind)
    {
        var bytes = kind switch
        {
            "mp3" => "ID3\u0004\0\0\0\0\0\0 not a wave"u8.ToArray(),
            "empty" => [],
            "adpcm" => WithFormat(Wav([[0]]), tag: 2),
            "float64" => WithFormat(Wav([[0]]), tag: 3, bits: 64),
            _ => WithFormat(Wav([[0]]), channels: 1000),
        };

        var error = await Assert.ThrowsAsync<UnsupportedMediaFormatException>(() => ReadAsync(bytes, 100));
        Assert.Contains("PCM", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("data size past the end", "claims 4294967295 bytes")]
    [InlineData("stream shorter than stored", "truncated")]
    [InlineData("cut inside the header", "truncated")]
    [InlineData("no format chunk", "format")]
    [InlineData("block size lies", "block size")]
    [InlineData("zero channels", "0 channels")]
    [InlineData("format chunk too short", "at least 16")]
    public async Task LyingOrTruncatedHeader_IsAClearErrorWithoutAHugeAllocation(string kind, string expected)
    {
        var wave = Wav([[1], [2], [3], [4]]);
        var length = (long)wave.Length;
        switch (kind)
        {
            case "data size past the end":
                BinaryPrimitives.WriteUInt32LittleEndian(wave.AsSpan(40), uint.MaxValue);
                break;
            case "stream shorter than stored":
                wave = wave[..^4];
                break;
            case "cut inside the header":
                wave = wave[..30];
                length = wave.Length;
                break;
            case "no format chunk":
                "junk"u8.CopyTo(wave.AsSpan(12));
                "fmt "u8.CopyTo(wave.AsSpan(36)); // a format chunk after the data is too late; the data one is now 'fmt '
                "data"u8.CopyTo(wave.AsSpan(12));
                break;
            case "block size lies":
                BinaryPrimitives.WriteUInt16LittleEndian(wave.AsSpan(32), 7);
                break;
            case "zero channels":
                wave = WithFormat(wave, channels: 0);
                break;
            default:
                BinaryPrimitives.WriteUInt32LittleEndian(wave.AsSpan(16), 4);
                break;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => WaveformReader.ReadAsync(new MemoryStream(wave), length, WaveformReader.MaxPoints, default));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 * 1024 * 1024, "a lying header must not make the reader allocate by its claims");
    }

    private static Task<Waveform> ReadAsync(byte[] wave, int points) => WaveformReader.ReadAsync(new MemoryStream(wave), wave.Length, points, default);

    /// <summary>A 16-bit PCM WAV at 16 kHz with these frames (one short per channel), optionally with another chunk before the data.</summary>
    private static byte[] Wav(short[][] frames, string? extraChunk = null, int extraChunkLength = 0)
    {
        var channels = frames.Length == 0 ? 1 : frames[0].Length;
        var data = frames.Length * channels * 2;
        var extra = extraChunk is null ? 0 : 8 + extraChunkLength + (extraChunkLength & 1);
        var bytes = new byte[44 + extra + data];
        var span = bytes.AsSpan();
        "RIFF"u8.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(bytes.Length - 8));
        "WAVE"u8.CopyTo(span[8..]);
        "fmt "u8.CopyTo(span[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], 16_000);
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)(16_000 * channels * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], (ushort)(channels * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], 16);
        var at = 36;
        if (extraChunk is not null)
        {
            System.Text.Encoding.ASCII.GetBytes(extraChunk).CopyTo(span[at..]);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], (uint)extraChunkLength);
            at += extra;
        }

        "data"u8.CopyTo(span[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], (uint)data);
        at += 8;
        foreach (var frame in frames)
        {
            foreach (var sample in frame)
            {
                BinaryPrimitives.WriteInt16LittleEndian(span[at..], sample);
                at += 2;
            }
        }

        return bytes;
    }

    private static byte[] WithFormat(byte[] wave, ushort? tag = null, ushort? channels = null, ushort? bits = null)
    {
        var copy = wave.ToArray();
        if (tag is { } t)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(20), t);
        }

        if (channels is { } c)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(22), c);
        }

        if (bits is { } b)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(34), b);
        }

        return copy;
    }
}

using System.Buffers.Binary;
using CallVault.Emulator.Media;

namespace CallVault.Emulator.Tests.Media;

public sealed class ToneWaveMediaTests
{
    [Fact]
    public void Read_Header_IsAValidPcmWaveHeader()
    {
        var media = new ToneWaveMedia(16_000, 3, firstFrame: 0, frames: 16_000, silences: []);
        var header = new byte[44];
        media.Read(0, header);

        Assert.Equal("RIFF"u8.ToArray(), header[..4]);
        Assert.Equal("WAVE"u8.ToArray(), header[8..12]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(20)));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(22)));
        Assert.Equal(16_000u, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(24)));
        Assert.Equal(16_000u * 3 * 2, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(40)));
        Assert.Equal(44 + (16_000 * 3 * 2), media.Length);
    }

    [Fact]
    public void Read_DuringPause_IsSilent()
    {
        var media = new ToneWaveMedia(16_000, 1, firstFrame: 0, frames: 32_000, silences: [(16_000, 24_000)]);
        var during = new byte[2000];
        var before = new byte[2000];

        media.Read(44 + (17_000 * 2), during);
        media.Read(44 + (1_000 * 2), before);

        Assert.All(during, b => Assert.Equal(0, b));
        Assert.Contains(before, b => b != 0);
    }

    [Fact]
    public void Read_RangeAcrossHeaderAndSamples_MatchesWholeRead()
    {
        var media = new ToneWaveMedia(16_000, 2, firstFrame: 100, frames: 1_000, silences: []);
        var whole = new byte[media.Length];
        media.Read(0, whole);
        var part = new byte[101];

        media.Read(37, part);

        Assert.Equal(whole.AsSpan(37, 101).ToArray(), part);
    }
}

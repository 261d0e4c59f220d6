using CallVault.Emulator.Media;

namespace CallVault.Emulator.Tests.Media;

public sealed class SyntheticMediaTests
{
    /// <summary>Any range of a many-GB object is produced on demand and equals the same bytes read another way.</summary>
    [Fact]
    public void Read_AnyRangeOfHugeObject_IsDeterministicAndConsistent()
    {
        var media = new SyntheticMedia(seed: 42, length: 10L * 1024 * 1024 * 1024, "video/mp4");
        var whole = new byte[64];
        media.Read(media.Length - 64, whole);

        var pieces = new byte[64];
        media.Read(media.Length - 64, pieces.AsSpan(0, 3));
        media.Read(media.Length - 61, pieces.AsSpan(3, 61));

        Assert.Equal(whole, pieces);
        var again = new byte[64];
        new SyntheticMedia(42, media.Length, "video/mp4").Read(media.Length - 64, again);
        Assert.Equal(whole, again);
    }

    [Fact]
    public void Read_DifferentSeeds_GiveDifferentBytes()
    {
        var a = new byte[32];
        var b = new byte[32];
        new SyntheticMedia(1, 1024, "audio/wav").Read(0, a);
        new SyntheticMedia(2, 1024, "audio/wav").Read(0, b);

        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Read_PastTheEnd_Throws()
    {
        var media = new SyntheticMedia(1, 100, "audio/wav");

        Assert.Throws<ArgumentOutOfRangeException>(() => media.Read(90, new byte[11]));
    }
}

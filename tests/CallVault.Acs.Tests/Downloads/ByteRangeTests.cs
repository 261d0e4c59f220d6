using CallVault.Acs.Downloads;

namespace CallVault.Acs.Tests.Downloads;

public sealed class ByteRangeTests
{
    [Theory]
    [InlineData(0, 10, 4, "bytes=0-3,bytes=4-7,bytes=8-9")]
    [InlineData(0, 8, 4, "bytes=0-3,bytes=4-7")]
    [InlineData(5, 8, 100, "bytes=5-7")]
    [InlineData(8, 8, 4, "")]
    [InlineData(0, 1, 1, "bytes=0-0")]
    public void Partition_CoversRangeWithoutGapsOrOverlap(long start, long total, long partSize, string expected)
    {
        var parts = ByteRange.Partition(start, total, partSize).ToList();

        Assert.Equal(expected, string.Join(',', parts));
        Assert.Equal(total - start, parts.Sum(p => p.Length));
    }

    [Fact]
    public void Partition_InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteRange.Partition(-1, 10, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteRange.Partition(11, 10, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteRange.Partition(0, 10, 0));
    }
}

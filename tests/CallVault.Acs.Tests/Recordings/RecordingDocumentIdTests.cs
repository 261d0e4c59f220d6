using CallVault.Acs.Recordings;

namespace CallVault.Acs.Tests.Recordings;

public sealed class RecordingDocumentIdTests
{
    [Theory]
    [InlineData("0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f", true)]
    [InlineData("a.b_c-1", true)]
    [InlineData("..", false)]
    [InlineData(".", false)]
    [InlineData("../etc/passwd", false)]
    [InlineData("a/b", false)]
    [InlineData("a%2fb", false)]
    [InlineData("a b", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValid_AcceptsOnlySafeIds(string? id, bool expected)
    {
        Assert.Equal(expected, RecordingDocumentId.IsValid(id));
    }
}

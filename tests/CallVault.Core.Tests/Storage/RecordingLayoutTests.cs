using CallVault.Jobs;
using CallVault.Storage;

namespace CallVault.Core.Tests.Storage;

public sealed class RecordingLayoutTests
{
    [Theory]
    [InlineData("9b1e4c2d-7a35", "9b1e4c2d-7a35")]
    [InlineData("../../etc", "_.._etc")]
    [InlineData("..", "_")]
    [InlineData("a/b\\c", "a_b_c")]
    [InlineData("", "_")]
    [InlineData("é€ x", "___x")]
    public void Segment_KeepsOnlySafeCharacters(string value, string expected)
    {
        var segment = RecordingLayout.Segment(value);

        Assert.Equal(expected, segment);
        Assert.True(RecordingLayout.IsValidPath(segment));
    }

    [Fact]
    public void Segment_LongValues_AreShortenedButStayDistinct()
    {
        var a = RecordingLayout.Segment(new string('a', 200) + "1");
        var b = RecordingLayout.Segment(new string('a', 200) + "2");

        Assert.Equal(RecordingLayout.MaxSegmentLength, a.Length);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void FolderOf_UsesStartDateCallAndRecording()
    {
        var recording = new RecordingInfo { Key = "k", CallId = "call-1", RecordingId = "rec/1", StartTime = new DateTimeOffset(2026, 3, 3, 23, 30, 0, TimeSpan.FromHours(-2)) };

        Assert.Equal("2026/03/04/call-1/rec_1", RecordingLayout.FolderOf(recording, DateTimeOffset.UnixEpoch));
        Assert.Equal("2026/03/04/call-1/rec_1/chunk-002.wav", RecordingLayout.MediaPath(RecordingLayout.FolderOf(recording, DateTimeOffset.UnixEpoch), 2, "wav"));
    }

    [Theory]
    [InlineData("a/b/c.wav", true)]
    [InlineData("/a", false)]
    [InlineData("a//b", false)]
    [InlineData("a/../b", false)]
    [InlineData("a\\b", false)]
    [InlineData("a/b c", false)]
    [InlineData("", false)]
    public void IsValidPath_RefusesEscapes(string path, bool expected)
    {
        Assert.Equal(expected, RecordingLayout.IsValidPath(path));
    }
}

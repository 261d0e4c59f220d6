using CallVault.Jobs;
using CallVault.Storage;

namespace CallVault.Core.Tests.Storage;

public sealed class RecordingLayoutTests
{
    /// <summary>Characters the generator draws from: safe ones, their usual replacements' neighbours, path syntax, unicode.</summary>
    private static readonly string[] Alphabet =
    [
        "a", "b", "Z", "0", "9", "-", "_", ".", "..", ":", ";", "/", "\\", " ", "%", "~", "@", "\0", "é", "€", "ß", "日本",
        "\uD83D\uDE00", "\uD800", "\uDC00", "\u200B", "-0123456789abcdef0123", "-0123456789abcdef",
    ];

    [Theory]
    [InlineData("9b1e4c2d-7a35")]
    [InlineData("0-eus-d12-801b3f3f0123456789abcdef0123456789")]
    [InlineData("eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIxMjM0In0")]
    [InlineData("a.b")]
    [InlineData("9b1e4c2d-7a35-4f60-8d21-3e5f6a7b8c90")]
    public void Segment_SafeValues_AreKeptAsTheyAre(string value)
    {
        Assert.Equal(value, RecordingLayout.Segment(value));
    }

    [Theory]
    [InlineData("../../etc", "_.._etc-")]
    [InlineData("..", "_-")]
    [InlineData(".", "_-")]
    [InlineData("a/b\\c", "a_b_c-")]
    [InlineData("", "_-")]
    [InlineData("é€ x", "___x-")]
    [InlineData("r:1", "r_1-")]
    [InlineData(".hidden", "hidden-")]
    public void Segment_UnsafeValues_AreReadableAndGetAHashOfTheOriginal(string value, string expectedStart)
    {
        var segment = RecordingLayout.Segment(value);

        Assert.StartsWith(expectedStart, segment, StringComparison.Ordinal);
        Assert.True(RecordingLayout.IsValidPath(segment), segment);
    }

    /// <summary>The defect: two different recording ids in one folder.</summary>
    [Fact]
    public void Segment_ValuesDifferingOnlyInReplacedCharacters_StayDistinct()
    {
        Assert.NotEqual(RecordingLayout.Segment("r:1"), RecordingLayout.Segment("r;1"));
        Assert.NotEqual(RecordingLayout.Segment("a b"), RecordingLayout.Segment("a_b"));
        Assert.NotEqual(RecordingLayout.Segment(".x"), RecordingLayout.Segment("x"));
        Assert.NotEqual(RecordingLayout.Segment("\uD800"), RecordingLayout.Segment("\uDC00"));
    }

    /// <summary>A value spelled like another value's segment cannot take that segment.</summary>
    [Fact]
    public void Segment_ValueThatIsAnotherValuesSegment_GetsADifferentSegment()
    {
        foreach (var value in new[] { "r:1", "..", new string('x', 300), "a/b" })
        {
            var segment = RecordingLayout.Segment(value);

            Assert.NotEqual(segment, RecordingLayout.Segment(segment));
        }
    }

    /// <summary>Property: over many generated strings (unicode, path syntax, long, forged suffixes), no two distinct inputs share a segment and every segment is a valid path segment.</summary>
    [Fact]
    public void Segment_ManyRandomValues_IsInjectiveAndAlwaysAValidSegment()
    {
        var random = new Random(20261130);
        var inputs = new HashSet<string>(StringComparer.Ordinal) { string.Empty, ".", "..", "...", new string('a', 80), new string('a', 81), new string('.', 81) };
        while (inputs.Count < 30_000)
        {
            var length = random.Next(0, random.Next(4) == 0 ? 60 : 8);
            var parts = Enumerable.Range(0, length).Select(_ => Alphabet[random.Next(Alphabet.Length)]);
            inputs.Add(string.Concat(parts));
        }

        // Forgery attempts: every segment produced so far is also fed back as a literal value.
        foreach (var value in inputs.ToList())
        {
            inputs.Add(RecordingLayout.Segment(value));
        }

        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in inputs)
        {
            var segment = RecordingLayout.Segment(value);
            Assert.True(RecordingLayout.IsValidPath(segment) && !segment.Contains('/', StringComparison.Ordinal), $"'{segment}' from '{value}' is not a valid segment");
            Assert.InRange(segment.Length, 1, RecordingLayout.MaxSegmentLength);
            if (owners.TryGetValue(segment, out var other))
            {
                Assert.Fail($"'{value}' and '{other}' both give '{segment}'");
            }

            owners[segment] = value;
        }
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
        var recording = new RecordingInfo { Key = "k", CallId = "call-1", RecordingId = "rec-1", StartTime = new DateTimeOffset(2026, 3, 3, 23, 30, 0, TimeSpan.FromHours(-2)) };

        Assert.Equal("2026/03/04/call-1/rec-1", RecordingLayout.FolderOf(recording, DateTimeOffset.UnixEpoch));
        Assert.Equal("2026/03/04/call-1/rec-1/chunk-002.wav", RecordingLayout.MediaPath(RecordingLayout.FolderOf(recording, DateTimeOffset.UnixEpoch), 2, "wav"));
    }

    /// <summary>Without a recording id the folder is the recording's key, which is already a segment: not hashed twice.</summary>
    [Fact]
    public void FolderOf_WithoutRecordingId_UsesTheKey()
    {
        var key = RecordingLayout.Segment("server-call@2026-03-03T09:00:00.0000000+00:00");
        var recording = new RecordingInfo { Key = key, CallId = "call-1", StartTime = new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero) };

        Assert.Equal($"2026/03/03/call-1/{key}", RecordingLayout.FolderOf(recording, DateTimeOffset.UnixEpoch));
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

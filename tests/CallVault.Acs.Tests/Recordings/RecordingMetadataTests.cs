using System.Text;
using CallVault.Acs.Recordings;

namespace CallVault.Acs.Tests.Recordings;

public sealed class RecordingMetadataTests
{
    private const string SpecSample = """
        {
          "resourceId": "6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d",
          "callId": "9b1e4c2d-7a35-4f60-8d21-3e5f6a7b8c90",
          "chunkDocumentId": "0-weu-d4-a08e77c1d2f34b5a9c6d7e8f90a1b2c3",
          "chunkIndex": 1,
          "chunkStartTime": "2026-03-03T12:31:40.9120000Z",
          "chunkDuration": 4921700.0,
          "pauseResumeIntervals": [ { "startTime": "2026-03-03T12:50:02.3010000Z", "duration": 95400 } ],
          "recordingInfo": {
            "contentType": "audio", "channelType": "unmixed", "format": "wav",
            "audioConfiguration": { "sampleRate": 16000, "bitRate": 256000, "channels": 3 }
          },
          "participants": [
            { "participantId": "8:acs:6d2f_0021", "channel": 0 },
            { "participantId": "4:+14255550123", "channel": 1 }
          ],
          "somethingNew": { "x": 1 }
        }
        """;

    [Fact]
    public void Parse_SpecSample_ReadsEveryField()
    {
        var metadata = RecordingMetadata.Parse(Encoding.UTF8.GetBytes(SpecSample));

        Assert.Equal("9b1e4c2d-7a35-4f60-8d21-3e5f6a7b8c90", metadata.CallId);
        Assert.Equal("0-weu-d4-a08e77c1d2f34b5a9c6d7e8f90a1b2c3", metadata.ChunkDocumentId);
        Assert.Equal(1, metadata.ChunkIndex);
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 12, 31, 40, 912, TimeSpan.Zero), metadata.ChunkStartTime);
        Assert.Equal(TimeSpan.FromMilliseconds(4921700), metadata.ChunkDuration);
        var pause = Assert.Single(metadata.Pauses);
        Assert.Equal(TimeSpan.FromMilliseconds(95400), pause.Duration);
        Assert.Equal(("audio", "unmixed", "wav"), (metadata.ContentType, metadata.ChannelType, metadata.Format));
        Assert.Equal((16000, 256000, 3), (metadata.SampleRate, metadata.AudioBitRate, metadata.AudioChannels));
        Assert.Equal([new RecordingParticipant("8:acs:6d2f_0021", 0), new RecordingParticipant("4:+14255550123", 1)], metadata.Participants);
    }

    [Fact]
    public void Parse_SampleRateAsString_IsRead()
    {
        var metadata = RecordingMetadata.Parse("""{"recordingInfo":{"audioConfiguration":{"sampleRate":"16000"}}}"""u8);

        Assert.Equal(16000, metadata.SampleRate);
    }

    [Fact]
    public void Parse_SwappedContentAndChannelType_IsPutBack()
    {
        var metadata = RecordingMetadata.Parse("""{"recordingInfo":{"contentType":"mixed","channelType":"audioVideo","format":"mp4"}}"""u8);

        Assert.Equal(("audioVideo", "mixed"), (metadata.ContentType, metadata.ChannelType));
    }

    [Fact]
    public void Parse_MissingOptionalParts_GivesNulls()
    {
        var metadata = RecordingMetadata.Parse("{}"u8);

        Assert.Null(metadata.CallId);
        Assert.Empty(metadata.Participants);
        Assert.Empty(metadata.Pauses);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("")]
    public void Parse_NotAnObject_ThrowsInvalidData(string text)
    {
        Assert.Throws<InvalidDataException>(() => RecordingMetadata.Parse(Encoding.UTF8.GetBytes(text)));
    }
}

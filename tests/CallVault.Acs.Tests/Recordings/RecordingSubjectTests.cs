using CallVault.Acs.Recordings;

namespace CallVault.Acs.Tests.Recordings;

public sealed class RecordingSubjectTests
{
    [Theory]
    [InlineData("/recording/call/c1/serverCallId/aHR0cHM6Ly9hcGk/recordingId/r1", "c1", "aHR0cHM6Ly9hcGk", "r1")]
    [InlineData("/recording/call/c1/serverCallId/s1", "c1", "s1", null)]
    [InlineData("/recording/call/c1/recordingId/r1", "c1", null, "r1")]
    [InlineData("/recording/recordingId/r1/call/c1", "c1", null, "r1")]
    [InlineData("/recording/call/c1/unknown/x/recordingId/r1", "c1", null, "r1")]
    [InlineData("", null, null, null)]
    [InlineData(null, null, null, null)]
    public void Parse_ReadsKeyValueSegments(string? subject, string? callId, string? serverCallId, string? recordingId)
    {
        Assert.Equal(new RecordingSubject(callId, serverCallId, recordingId), RecordingSubject.Parse(subject));
    }
}

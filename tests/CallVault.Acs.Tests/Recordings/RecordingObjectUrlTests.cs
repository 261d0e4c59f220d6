using CallVault.Acs.Recordings;

namespace CallVault.Acs.Tests.Recordings;

public sealed class RecordingObjectUrlTests
{
    private const string DocumentId = "0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f";

    [Theory]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId)]
    [InlineData("http://127.0.0.1:5123/v1/objects/" + DocumentId)]
    public void NamesDocument_TheChunksOwnObject_IsTrue(string url) =>
        Assert.True(RecordingObjectUrl.NamesDocument(new Uri(url), DocumentId));

    [Theory]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/0-weu-d4-another")]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId + "/content/audio")]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId + "x")]
    [InlineData("https://us-storage.asm.skype.com/v2/objects/" + DocumentId)]
    [InlineData("https://us-storage.asm.skype.com/" + DocumentId)]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/%2E%2E")]
    public void NamesDocument_AnyOtherUrl_IsFalse(string url) =>
        Assert.False(RecordingObjectUrl.NamesDocument(new Uri(url), DocumentId));

    [Fact]
    public void DocumentIdOf_ReadsTheObjectId() =>
        Assert.Equal("0-weu-d4-another", RecordingObjectUrl.DocumentIdOf(new Uri("https://us-storage.asm.skype.com/v1/objects/0-weu-d4-another")));

    [Theory]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId, DocumentId)]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId + "/content/audio", DocumentId)]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId + "/content/acsmetadata", DocumentId)]
    [InlineData("http://127.0.0.1:5272/v1/objects/0-weu-d4-another/content/video", "0-weu-d4-another")]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId + "/content", null)]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId + "/other/audio", null)]
    [InlineData("https://us-storage.asm.skype.com/recording/download/" + DocumentId, null)]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/%2E%2E/content/audio", null)]
    public void ObjectIdOf_ReadsMediaMetadataAndDeleteLocations(string url, string? expected) =>
        Assert.Equal(expected, RecordingObjectUrl.ObjectIdOf(new Uri(url)));

    [Theory]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/0-weu-d4-another/content/audio", true)]
    [InlineData("https://us-storage.asm.skype.com/v1/objects/" + DocumentId + "/content/audio", false)]
    [InlineData("https://example.com/some/other/shape", false)]
    public void NamesAnotherObject_OnlyWhenTheUrlIsKnownToNameAnother(string url, bool expected) =>
        Assert.Equal(expected, RecordingObjectUrl.NamesAnotherObject(new Uri(url), DocumentId));
}

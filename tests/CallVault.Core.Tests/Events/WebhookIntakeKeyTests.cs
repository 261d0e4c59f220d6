using System.Text;
using CallVault.Acs;
using CallVault.Events;
using CallVault.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CallVault.Core.Tests.Events;

/// <summary>How a delivery's recording events become chunk requests, in particular the recording key and folder they get.</summary>
public sealed class WebhookIntakeKeyTests
{
    private readonly WebhookIntake _intake = new(
        new StaticMonitor<CallVaultOptions>(new CallVaultOptions()),
        new StaticMonitor<AcsClientOptions>(new AcsClientOptions()),
        NullLogger<WebhookIntake>.Instance);

    /// <summary>
    /// A subject without a recording id (the form some docs show): a call recorded twice (stop, then start) gives two
    /// recordings whose chunk 0 must land in two different folders, not overwrite each other.
    /// </summary>
    [Theory]
    [InlineData("/recording/call/call-1/serverCallId/c2VydmVy")]
    [InlineData("/recording/call/call-1")]
    public void ToChunks_TwoRecordingsOfOneCallWithoutRecordingId_GetDistinctKeysAndPaths(string subject)
    {
        var first = SingleChunk(Parse(RecordingEvent("e-1", subject, "0-eus-d1-00000000000000000000000000000001", "2026-03-03T09:00:00.0000000Z")));
        var second = SingleChunk(Parse(RecordingEvent("e-2", subject, "0-eus-d1-00000000000000000000000000000002", "2026-03-03T09:30:00.0000000Z")));

        Assert.NotEqual(first.Recording.Key, second.Recording.Key);
        var firstFolder = RecordingLayout.FolderOf(first.Recording, first.EventTime);
        var secondFolder = RecordingLayout.FolderOf(second.Recording, second.EventTime);
        Assert.NotEqual(firstFolder, secondFolder);
        Assert.NotEqual(RecordingLayout.MediaPath(firstFolder, first.Index, "wav"), RecordingLayout.MediaPath(secondFolder, second.Index, "wav"));
        Assert.True(RecordingLayout.IsValidPath(firstFolder));
        Assert.True(RecordingLayout.IsValidPath(secondFolder));
    }

    /// <summary>Redelivery of one recording (a new event id, same recording) keeps the key, so its chunks stay together.</summary>
    [Fact]
    public void ToChunks_RecordingWithoutRecordingId_RedeliveredInAnotherEvent_KeepsItsKey()
    {
        const string subject = "/recording/call/call-1/serverCallId/c2VydmVy";
        var first = SingleChunk(Parse(RecordingEvent("e-1", subject, "0-eus-d1-00000000000000000000000000000001", "2026-03-03T09:00:00.0000000Z")));
        var again = SingleChunk(Parse(RecordingEvent("e-9", subject, "0-eus-d1-00000000000000000000000000000003", "2026-03-03T09:00:00.0000000Z", index: 1)));

        Assert.Equal(first.Recording.Key, again.Recording.Key);
    }

    /// <summary>Recording ids that differ only in characters a path cannot hold stay two recordings.</summary>
    [Fact]
    public void ToChunks_RecordingIdsDifferingInUnsafeCharacters_GetDistinctKeys()
    {
        var first = SingleChunk(Parse(RecordingEvent("e-1", "/recording/call/call-1/serverCallId/s/recordingId/r:1", "0-eus-d1-00000000000000000000000000000001", "2026-03-03T09:00:00.0000000Z")));
        var second = SingleChunk(Parse(RecordingEvent("e-2", "/recording/call/call-1/serverCallId/s/recordingId/r;1", "0-eus-d1-00000000000000000000000000000002", "2026-03-03T09:00:00.0000000Z")));

        Assert.NotEqual(first.Recording.Key, second.Recording.Key);
        Assert.NotEqual(RecordingLayout.FolderOf(first.Recording, first.EventTime), RecordingLayout.FolderOf(second.Recording, second.EventTime));
    }

    private IntakeResult.Events Parse(string body) =>
        Assert.IsType<IntakeResult.Events>(_intake.Parse(BinaryData.FromString(body), "application/json"));

    private static ChunkRequestView SingleChunk(IntakeResult.Events result)
    {
        var chunk = Assert.Single(Assert.Single(result.Accepted).Chunks);
        return new ChunkRequestView(chunk.Recording, chunk.Index, chunk.EventTime);
    }

    /// <summary>A 2021-preview shaped event: chunks carry only documentId, index and endReason.</summary>
    private static string RecordingEvent(string id, string subject, string documentId, string startTime, long index = 0)
    {
        var builder = new StringBuilder();
        builder.Append("[{\"id\":\"").Append(id).Append("\",")
            .Append("\"topic\":\"/subscriptions/1/resourcegroups/rg/providers/microsoft.communication/communicationservices/acs\",")
            .Append("\"subject\":\"").Append(subject).Append("\",")
            .Append("\"eventType\":\"Microsoft.Communication.RecordingFileStatusUpdated\",\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\",")
            .Append("\"eventTime\":\"2026-03-03T10:00:00.0000000Z\",")
            .Append("\"data\":{\"recordingStorageInfo\":{\"recordingChunks\":[{\"documentId\":\"").Append(documentId)
            .Append("\",\"index\":").Append(index).Append(",\"endReason\":\"SessionEnded\"}]},")
            .Append("\"recordingStartTime\":\"").Append(startTime).Append("\",\"recordingDurationMs\":1000}}]");
        return builder.ToString();
    }

    private sealed record ChunkRequestView(CallVault.Jobs.RecordingInfo Recording, long Index, DateTimeOffset EventTime);

    private sealed class StaticMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}

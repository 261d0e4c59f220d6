using CallVault.Acs.Downloads;
using CallVault.Jobs;
using CallVault.Processing;

namespace CallVault.Core.Tests.Processing;

public sealed class DownloadsInFlightTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 3, 10, 0, 0, TimeSpan.Zero);

    private static ChunkRequest Chunk(string documentId) => new()
    {
        DocumentId = documentId,
        Recording = new RecordingInfo { Key = "rec-1" },
        Index = 2,
        EventTime = Start,
    };

    [Fact]
    public void Progress_IsVisibleUntilTheDownloadFinishes()
    {
        var downloads = new DownloadsInFlight();
        var download = downloads.Start(Chunk("d1"), Start);

        Assert.Null(download.TotalBytes);
        download.Report(new AcsDownloadProgress(4096, 10_000));
        var seen = Assert.Single(downloads.Snapshot());
        Assert.Equal(("d1", "rec-1", 2L, 4096L, (long?)10_000), (seen.DocumentId, seen.RecordingKey, seen.ChunkIndex, seen.BytesReceived, seen.TotalBytes));

        downloads.Finish(download);
        Assert.Empty(downloads.Snapshot());
    }

    [Fact]
    public void FinishingAnOldAttempt_KeepsTheNewerOneOfTheSameChunk()
    {
        var downloads = new DownloadsInFlight();
        var old = downloads.Start(Chunk("d1"), Start);
        var newer = downloads.Start(Chunk("d1"), Start.AddMinutes(1));
        var other = downloads.Start(Chunk("d0"), Start.AddSeconds(-5));

        downloads.Finish(old);

        Assert.Equal([other, newer], downloads.Snapshot());
    }
}

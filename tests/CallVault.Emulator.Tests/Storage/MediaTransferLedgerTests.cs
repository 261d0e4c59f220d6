using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Acs.Downloads;
using CallVault.Acs.Recordings;
using CallVault.Emulator.Storage;

namespace CallVault.Emulator.Tests.Storage;

/// <summary>The per-document count of media bytes sent: what "downloaded once" is measured by.</summary>
public sealed class MediaTransferLedgerTests : EmulatorTestBase
{
    private static async Task<long> DownloadAsync(AcsRecordingClient client, Uri location, long resumeOffset = 0, Stream? destination = null, CancellationToken cancellationToken = default)
    {
        using var memory = new MemoryStream();
        var result = await client.DownloadToAsync(new AcsDownloadRequest(location) { ResumeOffset = resumeOffset }, destination ?? memory, cancellationToken: cancellationToken);
        return result.Length;
    }

    private async Task<MediaTransfer> SettledAsync(string documentId)
    {
        // A response ends on the server a moment after the client has read it: wait until no request is in flight.
        Assert.True(
            await WaitUntilAsync(() => Emulator.Context.MediaTransfers.Find(documentId) is { RequestsInFlight: 0 }, TimeSpan.FromSeconds(30)),
            $"requests for {documentId} are still in flight: {Emulator.Context.MediaTransfers.Find(documentId)}");
        return Emulator.Context.MediaTransfers.Find(documentId)!;
    }

    private static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > timeout)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    [Fact]
    public async Task OneDownloadThenAResume_CountsExactlyTheBytesOfEachRange()
    {
        var chunk = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 700_000 }));
        var id = chunk.GetProperty("documentId").GetString()!;
        var client = CreateClient();

        await DownloadAsync(client, Location(chunk, "contentLocation"));
        var once = await SettledAsync(id);
        await DownloadAsync(client, Location(chunk, "contentLocation"), resumeOffset: 600_000);
        var resumed = await SettledAsync(id);

        Assert.Equal(new MediaTransfer(700_000, 700_000, 1, 0, 0, 0), once);
        Assert.Equal(0, once.ExcessBytes);
        Assert.Equal(new MediaTransfer(700_000, 800_000, 2, 0, 0, 0), resumed);
        Assert.Equal(100_000, resumed.ExcessBytes);
    }

    [Fact]
    public async Task SecondFullDownload_ShowsAsOneObjectOfExcess_OnTheAdminApi()
    {
        var recording = await RecordAsync(new { media = "synthetic", sizeBytes = 300_000 });
        var chunk = Chunk(recording);
        var id = chunk.GetProperty("documentId").GetString()!;
        var client = CreateClient();

        await DownloadAsync(client, Location(chunk, "contentLocation"));
        await DownloadAsync(client, Location(chunk, "previewContentLocation"));
        await SettledAsync(id);
        var all = await Admin.GetFromJsonAsync<Dictionary<string, JsonElement>>("bytes-sent");
        var one = await Admin.GetFromJsonAsync<JsonElement>($"bytes-sent/{id}");
        var view = await Admin.GetFromJsonAsync<JsonElement>($"recordings/{recording.GetProperty("recordingId").GetString()}");

        Assert.Equal(600_000, all![id].GetProperty("mediaBytesSent").GetInt64());
        Assert.Equal(300_000, all[id].GetProperty("size").GetInt64());
        Assert.Equal(2, all[id].GetProperty("requests").GetInt32());
        Assert.Equal(300_000, one.GetProperty("excessBytes").GetInt64());
        Assert.Equal(600_000, Chunk(view).GetProperty("mediaBytesSent").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("bytes-sent/no-such-document")).StatusCode);
    }

    [Fact]
    public async Task ResetFault_CountsTheBytesWrittenBeforeTheCut_NotTheRangeAskedFor()
    {
        var chunk = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 1_000_000 }));
        var id = chunk.GetProperty("documentId").GetString()!;
        (await Admin.PostAsJsonAsync("faults", new { documentId = id, fault = new { type = "Reset", afterBytes = 200_000 } })).EnsureSuccessStatusCode();
        var client = CreateClient();

        Assert.Equal(1_000_000, await DownloadAsync(client, Location(chunk, "contentLocation")));
        var transfer = await SettledAsync(id);

        // The cut response wrote 200,000 bytes; the client resumed from what reached it (a reset may discard some).
        Assert.Equal(200_000, transfer.BytesInResponsesCutByFaults);
        Assert.Equal(2, transfer.Requests);
        Assert.InRange(transfer.MediaBytesSent, 1_000_000, 1_200_000);
        Assert.Equal(0, transfer.BytesInAbortedResponses);
        var requests = Emulator.Context.ObjectRequests.Where(r => r.DocumentId == id && !r.Metadata).ToList();
        Assert.Equal([ResponseEnd.CutByFault, ResponseEnd.Complete], requests.Select(r => r.End));
        Assert.Equal(transfer.MediaBytesSent, requests.Sum(r => r.BytesSent));
    }

    [Fact]
    public async Task ClientGoneMidBody_CountsWhatWasWritten_AsAborted()
    {
        // 8 MB at 1 MB/s: the client is gone long before the body could have been written in full.
        var chunk = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 8_000_000 }));
        var id = chunk.GetProperty("documentId").GetString()!;
        (await Admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 1_000_000 })).EnsureSuccessStatusCode();
        var client = CreateClient();
        using var giveUp = new CancellationTokenSource();
        await using var destination = new CancelAfterStream(200_000, giveUp);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DownloadAsync(client, Location(chunk, "contentLocation"), destination: destination, cancellationToken: giveUp.Token));
        var transfer = await SettledAsync(id);

        // The client held 200,000 bytes, so they were written; only writes finished before the abort are counted, and
        // the one the abort interrupted (at most one block) may have delivered some of its bytes already.
        Assert.InRange(transfer.MediaBytesSent, 200_000 - ObjectResponder.BlockSize, 7_999_999);
        Assert.Equal(transfer.MediaBytesSent, transfer.BytesInAbortedResponses);
        Assert.Equal(0, transfer.BytesInResponsesCutByFaults);
        Assert.Equal(ResponseEnd.Aborted, Assert.Single(Emulator.Context.ObjectRequests, r => r.DocumentId == id && !r.Metadata).End);
    }

    [Fact]
    public async Task Report_SecondFullDownloadIsUnexplained_ResetIsExplained()
    {
        var twice = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 400_000 }));
        var reset = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 400_000 }));
        var twiceId = twice.GetProperty("documentId").GetString()!;
        var resetId = reset.GetProperty("documentId").GetString()!;
        (await Admin.PostAsJsonAsync("faults", new { documentId = resetId, fault = new { type = "Reset", afterBytes = 150_000 } })).EnsureSuccessStatusCode();
        var client = CreateClient();
        await DownloadAsync(client, Location(twice, "contentLocation"));
        await DownloadAsync(client, Location(twice, "contentLocation"));
        await DownloadAsync(client, Location(reset, "contentLocation"));

        var report = await ByteExcessReport.MeasureAsync(Emulator.Context, [twiceId, resetId], crashes: null, TimeSpan.FromSeconds(30));

        Assert.False(report.IsWithin(0.01));
        Assert.Equal(twiceId, report.Worst!.DocumentId);
        Assert.Equal(400_000, report.Worst.Unexplained);
        Assert.Equal(1.0, report.Worst.UnexplainedFraction);
        var explained = report.Documents.Single(d => d.DocumentId == resetId);
        Assert.Equal(150_000, explained.ExplainedByFaults);
        Assert.Equal(0, explained.Unexplained);
        Assert.Contains("unexplained 400,000 (50.000%)", report.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_BytesSentBeforeACrash_AreExplainedForTheChunkTheKilledProcessHeld()
    {
        var chunk = Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = 300_000 }));
        var id = chunk.GetProperty("documentId").GetString()!;
        var client = CreateClient();
        await DownloadAsync(client, Location(chunk, "contentLocation"));
        await SettledAsync(id);
        var crashedAt = Emulator.Context.TimeProvider.GetUtcNow();
        await DownloadAsync(client, Location(chunk, "contentLocation"), resumeOffset: 100_000);

        var held = await ByteExcessReport.MeasureAsync(Emulator.Context, [id], new Dictionary<string, DateTimeOffset> { [id] = crashedAt }, TimeSpan.FromSeconds(30));
        var notHeld = await ByteExcessReport.MeasureAsync(Emulator.Context, [id], crashes: null, TimeSpan.FromSeconds(30));

        Assert.Equal(300_000, held.Documents[0].ExplainedByCrash);
        Assert.True(held.IsWithin(0.01));
        Assert.Equal(200_000, notHeld.Documents[0].Unexplained);
        Assert.False(notHeld.IsWithin(0.01));
    }

    /// <summary>A destination that cancels the download once it has received <c>limit</c> bytes.</summary>
    private sealed class CancelAfterStream(long limit, CancellationTokenSource cancel) : MemoryStream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await base.WriteAsync(buffer, cancellationToken);
            if (Length >= limit)
            {
                await cancel.CancelAsync();
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}

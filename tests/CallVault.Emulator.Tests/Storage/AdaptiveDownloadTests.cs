using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Acs.Downloads;
using CallVault.Acs.Recordings;

namespace CallVault.Emulator.Tests.Storage;

/// <summary>
/// The recording client's default download (an adaptive connection count) against the emulator over loopback HTTP,
/// on links shaped by the emulator. Every download must end byte-identical to the emulator's advertised SHA-256.
/// </summary>
public sealed class AdaptiveDownloadTests : EmulatorTestBase
{
    /// <summary>A client on its download defaults: no fixed connection count.</summary>
    private AcsRecordingClient CreateDefaultClient(Action<AcsDownloadOptions>? configure = null) =>
        CreateClient(options =>
        {
            options.Download = new AcsDownloadOptions { StallTimeout = TimeSpan.FromSeconds(10) };
            configure?.Invoke(options.Download);
        });

    private static async Task<(AcsDownloadResult Result, byte[] Bytes)> DownloadAsync(AcsRecordingClient client, Uri location)
    {
        using var destination = new MemoryStream();
        var result = await client.DownloadToAsync(new AcsDownloadRequest(location), destination);
        return (result, destination.ToArray());
    }

    private async Task<JsonElement> SyntheticChunkAsync(long size) =>
        Chunk(await RecordAsync(new { media = "synthetic", sizeBytes = size }));

    private static void AssertIdentical(JsonElement chunk, AcsDownloadResult result, byte[] bytes)
    {
        var expected = chunk.GetProperty("sha256").GetString();
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.Equal(expected, result.Sha256Hex);
        Assert.Equal(bytes.LongLength, result.Length);
    }

    /// <summary>
    /// Each connection carries at most 2 MB/s: one connection would need 12 s for 24 MiB, so the default adds
    /// connections, and the parts still arrive in order.
    /// </summary>
    [Fact]
    public async Task Download_PerConnectionCappedLink_AddsConnectionsAndMatches()
    {
        var chunk = await SyntheticChunkAsync(24 * 1024 * 1024);
        (await Admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 2_000_000, latencyMilliseconds = 20 })).EnsureSuccessStatusCode();

        var (result, bytes) = await DownloadAsync(CreateDefaultClient(), Location(chunk, "contentLocation"));

        AssertIdentical(chunk, result, bytes);
        Assert.True(result.PeakConnections > 1, $"peak {result.PeakConnections} connection(s)");
        Assert.InRange(result.FinalConnections, 1, result.PeakConnections);
    }

    /// <summary>
    /// A single stream at 2 MB/s is a hundredth of the single-stream ceiling, so the first probe goes straight to the
    /// default cap of 16 connections (1 MiB parts, so that there are enough of them to run 16 at once).
    /// </summary>
    [Fact]
    public async Task Download_SlowPerConnectionLink_FirstProbeReachesTheDefaultCapOfSixteen()
    {
        var chunk = await SyntheticChunkAsync(24 * 1024 * 1024);
        (await Admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 2_000_000, latencyMilliseconds = 20 })).EnsureSuccessStatusCode();

        var (result, bytes) = await DownloadAsync(CreateDefaultClient(o => o.PartSizeBytes = 1024 * 1024), Location(chunk, "contentLocation"));

        AssertIdentical(chunk, result, bytes);
        Assert.Equal(16, result.PeakConnections);
    }

    /// <summary>An uncapped loopback link: whatever count the default picks, the object is byte-identical.</summary>
    [Fact]
    public async Task Download_UncappedLink_MatchesByteForByte()
    {
        var chunk = await SyntheticChunkAsync((16 * 1024 * 1024) + 333);

        var (result, bytes) = await DownloadAsync(CreateDefaultClient(), Location(chunk, "contentLocation"));

        AssertIdentical(chunk, result, bytes);
        Assert.Equal(bytes.LongLength, result.BytesReceived);
    }

    /// <summary>
    /// Connections reset mid-body, on the single stream and on parts: each resumes from the byte after the last one it
    /// received, so no byte arrives twice and the object is byte-identical.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Download_ResetMidRange_ResumesFromTheRightOffset(int connections)
    {
        var chunk = await SyntheticChunkAsync(6 * 1024 * 1024);
        var id = chunk.GetProperty("documentId").GetString();
        (await Admin.PostAsJsonAsync("faults", new { documentId = id, count = 3, fault = new { type = "Reset", afterBytes = 300_000 } })).EnsureSuccessStatusCode();
        var client = CreateDefaultClient(o =>
        {
            o.ParallelConnections = connections;
            o.PartSizeBytes = 1024 * 1024;
        });

        var (result, bytes) = await DownloadAsync(client, Location(chunk, "contentLocation"));

        AssertIdentical(chunk, result, bytes);
        Assert.Equal(bytes.LongLength, result.BytesReceived);
        Assert.True(result.Requests >= 4, $"{result.Requests} requests: the resets were not all suffered");
        Assert.Empty(await Admin.GetFromJsonAsync<JsonElement[]>("faults") ?? []);
    }
}

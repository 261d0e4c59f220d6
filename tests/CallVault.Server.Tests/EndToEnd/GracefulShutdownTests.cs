using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Jobs;
using CallVault.Jobs.Sqlite;
using CallVault.Testing;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>Stopping the service mid-download releases the chunk and keeps its partial file; the next start resumes it.</summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task StopMidDownload_ReleasesTheLeaseAndTheNextStartResumes()
    {
        await using var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        using var admin = new HttpClient { BaseAddress = emulator.AdminBase };
        var server = await ServerUnderTest.StartAsync(emulator, s => s["CallVault:Acs:Download:ParallelConnections"] = "1");
        var dataFolder = server.DataFolder;
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 2_000_000 })).EnsureSuccessStatusCode();
        var recording = await (await admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 6_000_000 })).Content.ReadFromJsonAsync<JsonElement>();
        long Partial() => Directory.Exists(server.RecordingsFolder)
            ? Directory.EnumerateFiles(server.RecordingsFolder, "*.partial", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)
            : 0;
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => Partial() > 1_000_000, TimeSpan.FromSeconds(30)));

        await server.StopAsync();

        var kept = Partial();
        Assert.True(kept > 1_000_000);
        var store = new SqliteJobStore($"Data Source={Path.Combine(dataFolder, "callvault.db")}", TimeProvider.System);
        var chunk = (await store.Recordings.ListRecordingsAsync(new RecordingQuery(), default)).Single();
        var details = await store.Recordings.GetRecordingAsync(chunk.Key, default);
        Assert.Equal((ChunkState.Pending, 0), (details!.Chunks[0].State, details.Chunks[0].Attempts));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        (await admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 0 })).EnsureSuccessStatusCode();
        var sentBefore = emulator.Context.BytesSent;
        await using var restarted = await ServerUnderTest.StartAsync(emulator, s => s["CallVault:DataDirectory"] = dataFolder);
        var stored = await restarted.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);

        var media = Path.Combine(restarted.RecordingsFolder, stored.GetProperty("chunks")[0].GetProperty("media").GetProperty("path").GetString()!);
        Assert.Equal(recording.GetProperty("chunks")[0].GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(media))));
        Assert.True(emulator.Context.BytesSent - sentBefore <= 6_000_000 - kept, "the restart fetched bytes that were already stored");
    }
}

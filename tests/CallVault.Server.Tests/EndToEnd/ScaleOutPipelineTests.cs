using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>The pipeline with the jobs in PostgreSQL and the recordings in Blob Storage (Azurite).</summary>
public sealed class ScaleOutPipelineTests
{
    [Fact]
    public async Task PostgreSqlAndBlobStorage_ThreeChunkRecording_StoredByteIdenticalWithManifest()
    {
        await using var backends = await ScaleOutBackends.CreateAsync();
        await using var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        using var admin = new HttpClient { BaseAddress = emulator.AdminBase };
        await using var server = await ServerUnderTest.StartAsync(emulator, s =>
        {
            foreach (var (key, value) in backends.Settings)
            {
                s[key] = value;
            }
        });
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();

        var recording = await (await admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 1_500_000, chunkSizeLimitBytes = 600_000 })).Content.ReadFromJsonAsync<JsonElement>();
        var stored = await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);

        var expected = recording.GetProperty("chunks").EnumerateArray().ToList();
        var chunks = stored.GetProperty("chunks").EnumerateArray().ToList();
        Assert.Equal(3, chunks.Count);
        for (var i = 0; i < 3; i++)
        {
            var media = chunks[i].GetProperty("media");
            Assert.Equal(expected[i].GetProperty("sha256").GetString(), await backends.Sha256Async(media.GetProperty("path").GetString()!));
            Assert.Equal(expected[i].GetProperty("sha256").GetString(), media.GetProperty("sha256").GetString());
            Assert.NotNull(await backends.Sha256Async(chunks[i].GetProperty("metadata").GetProperty("path").GetString()!));
        }

        var folder = chunks[0].GetProperty("media").GetProperty("path").GetString()![..^"/chunk-000.wav".Length];
        Assert.NotNull(await backends.Sha256Async($"{folder}/manifest.json"));
        Assert.False(File.Exists(Path.Combine(server.DataFolder, ".lock")), "with PostgreSQL the data folder is not locked to one process");
    }
}

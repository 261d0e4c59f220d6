using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;
using Microsoft.Data.Sqlite;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// A backlog published at once (the catch-up after an outage) on the service's defaults, SQLite and disk: every chunk
/// ends stored exactly once, byte for byte, with its metadata and its recording's manifest, and nothing half-written is
/// left. Checks outcomes only; the rate is the benchmark's (<c>bench/CallVault.Bench catchup</c>).
/// </summary>
public sealed class CatchUpTests : IAsyncLifetime
{
    private const int Recordings = 50;
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task BurstOfRecordings_EveryChunkStoredExactlyOnceWithItsManifest()
    {
        await using var server = await ServerUnderTest.StartAsync(_emulator);
        using (var subscribe = await _admin.PostAsJsonAsync("subscriptions", new { name = "callvault", endpoint = server.WebhookUrl.AbsoluteUri }))
        {
            Assert.True(subscribe.IsSuccessStatusCode, await subscribe.Content.ReadAsStringAsync());
        }

        // Mostly one-chunk recordings, as in a backlog of short calls, and every tenth with three chunks, so that the
        // chunks of one recording complete side by side and the manifest must still list them all.
        var published = new Dictionary<string, (string Sha256, string CallId)>(StringComparer.Ordinal);
        var calls = new List<string>();
        await Task.WhenAll(Enumerable.Range(0, Recordings).Select(async i =>
        {
            using var response = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = i % 10 == 0 ? 150_000 : 64_000, chunkSizeLimitBytes = 50_000 + (i % 10 == 0 ? 0 : 100_000) });
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            var recording = await response.Content.ReadFromJsonAsync<JsonElement>();
            lock (published)
            {
                calls.Add(recording.GetProperty("callId").GetString()!);
                foreach (var chunk in recording.GetProperty("chunks").EnumerateArray())
                {
                    published.Add(chunk.GetProperty("documentId").GetString()!, (chunk.GetProperty("sha256").GetString()!, calls[^1]));
                }
            }
        }));

        foreach (var callId in calls)
        {
            await server.WaitForRecordingAsync(callId, timeout: TimeSpan.FromMinutes(2));
        }

        // One row per chunk, stored, with the published SHA-256, and its file on disk has exactly those bytes.
        var rows = new Dictionary<string, (string State, string MediaPath, string MediaSha256, string? MetadataPath)>(StringComparer.Ordinal);
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(server.DataFolder, "callvault.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT document_id, state, media_path, media_sha256, metadata_path FROM chunks;";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0), (reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
            }
        }

        Assert.Equal(published.Keys.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var (documentId, (sha256, _)) in published)
        {
            var row = rows[documentId];
            Assert.Equal(("Stored", sha256), (row.State, row.MediaSha256));
            Assert.Equal(sha256, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(server.RecordingsFolder, row.MediaPath)))));
            Assert.NotNull(row.MetadataPath);
            Assert.True(File.Exists(Path.Combine(server.RecordingsFolder, row.MetadataPath)), $"{documentId}: no metadata file");
        }

        // Each chunk once on disk, no other media, and nothing half-written once the last manifests have landed.
        var files = Directory.EnumerateFiles(server.RecordingsFolder, "*", SearchOption.AllDirectories).ToList();
        Assert.Equal(published.Count, files.Count(f => Path.GetFileName(f).StartsWith("chunk-", StringComparison.Ordinal) && !f.EndsWith(".json", StringComparison.Ordinal) && !f.EndsWith(".partial", StringComparison.Ordinal) && !f.EndsWith(".tmp", StringComparison.Ordinal)));
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(() => !Directory.EnumerateFiles(server.RecordingsFolder, "*", SearchOption.AllDirectories).Any(f => f.EndsWith(".partial", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal) || f.EndsWith(".ckpt", StringComparison.Ordinal)), TimeSpan.FromSeconds(10)),
            "Half-written files were left.");

        // Two requests per chunk on this path: its metadata once and its media once (no retry, no probe).
        var requests = _emulator.Context.ObjectRequests.ToList();
        Assert.All(published.Keys, documentId => Assert.Equal(
            (1, 1),
            (requests.Count(r => r.DocumentId == documentId && r.Metadata), requests.Count(r => r.DocumentId == documentId && !r.Metadata))));

        // Every recording's manifest lists all its chunks as stored (the manifest may trail the database for a moment).
        var byCall = published.GroupBy(p => p.Value.CallId).ToDictionary(g => g.Key, g => g.Select(p => p.Key).Order(StringComparer.Ordinal).ToList());
        var manifests = Directory.EnumerateFiles(server.RecordingsFolder, "manifest.json", SearchOption.AllDirectories).ToList();
        Assert.Equal(Recordings, manifests.Count);
        foreach (var manifest in manifests)
        {
            JsonElement content = default;
            Assert.True(
                await WebhookRecorder.WaitUntilAsync(
                    () =>
                    {
                        content = JsonDocument.Parse(File.ReadAllBytes(manifest)).RootElement.Clone();
                        return content.GetProperty("status").GetString() == "stored";
                    },
                    TimeSpan.FromSeconds(30)),
                $"{manifest} never said stored: {content}");
            var listed = content.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("documentId").GetString()!).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(byCall[content.GetProperty("callId").GetString()!], listed);
        }
    }
}

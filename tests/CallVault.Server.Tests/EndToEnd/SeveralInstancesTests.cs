using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Emulator.Storage;
using CallVault.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Three service processes share one PostgreSQL database and one Blob container. Every recording event reaches all three
/// (one subscription each: deliveries spread over the instances, every event duplicated), one instance is killed with
/// SIGKILL mid-run, and at the end every chunk is stored exactly once, byte-identical, and no chunk was ever being
/// downloaded by two instances at the same time. Measured by bytes too: the emulator sent each chunk's media once,
/// give or take what the killed instance had received and not yet made durable.
/// </summary>
public sealed class SeveralInstancesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Recordings = 200;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly List<Process> _processes = [];
    private readonly List<string> _folders = [];
    private ScaleOutBackends _backends = null!;
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _backends = await ScaleOutBackends.CreateAsync();
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes.Where(p => !p.HasExited))
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _admin.Dispose();
        await _emulator.DisposeAsync();
        await _backends.DisposeAsync();
        foreach (var folder in _folders)
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<(Process Process, Uri BaseAddress)> StartInstanceAsync()
    {
        var folder = Directory.CreateTempSubdirectory("callvault-instance-").FullName;
        _folders.Add(folder);
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}/");
        var settings = ServerUnderTest.SettingsFor(_emulator, folder, _secret);
        settings["Urls"] = baseAddress.AbsoluteUri;
        settings["CallVault:Acs:Download:ParallelConnections"] = "1";
        settings["CallVault:Worker:Concurrency"] = "3";
        settings["CallVault:Worker:LeaseDuration"] = "00:00:06";
        settings["CallVault:Worker:RetryBaseDelay"] = "00:00:00.100";
        foreach (var (key, value) in _backends.Settings)
        {
            settings[key] = value;
        }

        var start = new ProcessStartInfo("dotnet") { ArgumentList = { RepositoryPaths.BuiltAssembly("CallVault.Server") }, WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        using var client = new HttpClient { BaseAddress = baseAddress };
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(ct => ServerUnderTest.IsLiveAsync(client, ct), TimeSpan.FromSeconds(60)),
            "An instance did not start.");
        (await _admin.PostAsJsonAsync("subscriptions", new { name = $"instance-{_processes.Count}", endpoint = new Uri(baseAddress, $"api/events?code={_secret}").AbsoluteUri })).EnsureSuccessStatusCode();
        return (process, baseAddress);
    }

    private async Task<long> StoredChunksAsync()
    {
        await using var connection = new NpgsqlConnection(_backends.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM chunks WHERE state = 'Stored';", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<List<string>> LeasedByAsync(int processId)
    {
        // A worker's lease owner is "{machine}/{process id}/{random}#{worker}".
        await using var connection = new NpgsqlConnection(_backends.DatabaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT document_id FROM chunks WHERE state = 'Leased' AND lease_owner LIKE @owner;", connection);
        command.Parameters.AddWithValue("owner", $"%/{processId}/%");
        var leased = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            leased.Add(reader.GetString(0));
        }

        return leased;
    }

    [Fact]
    public async Task ThreeInstancesOneKilled_EveryChunkStoredOnceAndNeverDownloadedTwiceAtOnce()
    {
        var instances = new List<(Process Process, Uri BaseAddress)>();
        for (var i = 0; i < 3; i++)
        {
            instances.Add(await StartInstanceAsync());
        }

        // 300 KB chunks at 3 MB/s per connection: each download takes about 0.1 s, so the kill lands mid-run.
        (await _admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 3_000_000 })).EnsureSuccessStatusCode();
        var recordings = new List<JsonElement>();
        for (var i = 0; i < Recordings; i++)
        {
            using var response = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 450_000, chunkSizeLimitBytes = 300_000 });
            recordings.Add(await response.Content.ReadFromJsonAsync<JsonElement>());
        }

        var chunks = recordings.SelectMany(r => r.GetProperty("chunks").EnumerateArray()).ToList();
        Assert.True(await WebhookRecorder.WaitUntilAsync(async _ => await StoredChunksAsync() >= chunks.Count / 4, TimeSpan.FromSeconds(120)), "Downloads did not get under way.");
        instances[1].Process.Kill();
        await instances[1].Process.WaitForExitAsync();
        var killedAt = _emulator.Context.TimeProvider.GetUtcNow();

        // The chunks the killed instance held: what it had received of them and not made durable is fetched again. Its
        // leases stay in the database until they expire (seconds from now), so they are read at once.
        var interrupted = await LeasedByAsync(instances[1].Process.Id);
        var storedAtKill = await StoredChunksAsync();
        Assert.True(storedAtKill < chunks.Count, "the run was over before the kill; nothing was tested");

        Assert.True(await WebhookRecorder.WaitUntilAsync(async _ => await StoredChunksAsync() == chunks.Count, TimeSpan.FromSeconds(180)), $"Only {await StoredChunksAsync()} of {chunks.Count} chunks were stored.");

        // Every chunk is in the container once, byte-identical, at the path the job store recorded.
        await using var connection = new NpgsqlConnection(_backends.DatabaseConnectionString);
        await connection.OpenAsync();
        var paths = new Dictionary<string, string>();
        await using (var command = new NpgsqlCommand("SELECT document_id, media_path FROM chunks;", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                paths[reader.GetString(0)] = reader.GetString(1);
            }
        }

        Assert.Equal(chunks.Count, paths.Count);
        foreach (var chunk in chunks)
        {
            Assert.Equal(chunk.GetProperty("sha256").GetString(), await _backends.Sha256Async(paths[chunk.GetProperty("documentId").GetString()!]));
        }

        var mediaBlobs = 0;
        await foreach (var blob in _backends.Container.GetBlobsAsync())
        {
            mediaBlobs += blob.Name.Contains("/chunk-", StringComparison.Ordinal) && !blob.Name.EndsWith(".metadata.json", StringComparison.Ordinal) ? 1 : 0;
        }

        Assert.Equal(chunks.Count, mediaBlobs);

        // Each recording's manifest lists both chunks, whichever instances stored them and in whatever order. A manifest
        // is rewritten right after each completion, so it may trail the database for a moment: wait for it.
        foreach (var recording in recordings.Take(40))
        {
            var first = paths[recording.GetProperty("chunks")[0].GetProperty("documentId").GetString()!];
            var manifest = _backends.Container.GetBlobClient(first[..first.LastIndexOf('/')] + "/manifest.json");
            JsonElement Read() => JsonDocument.Parse(manifest.DownloadContent().Value.Content.ToString()).RootElement;
            Assert.True(
                await WebhookRecorder.WaitUntilAsync(() => Read().GetProperty("status").GetString() == "stored", TimeSpan.FromSeconds(10)),
                $"The manifest of {recording.GetProperty("recordingId").GetString()} stayed '{Read().GetProperty("status").GetString()}'.");
            Assert.Equal(2, Read().GetProperty("chunks").GetArrayLength());
        }

        // No two media downloads of the same chunk overlapped in time: a lease is only taken over once it expired.
        var overlaps = _emulator.Context.ObjectRequests
            .Where(r => !r.Metadata)
            .GroupBy(r => r.DocumentId)
            .SelectMany(g => g.OrderBy(r => r.Started).Zip(g.OrderBy(r => r.Started).Skip(1)).Where(pair => pair.Second.Started < pair.First.Ended))
            .ToList();
        Assert.Empty(overlaps);
        Assert.Equal(3, _emulator.Context.EventGrid.Subscriptions.Count);

        // Exactly once, by bytes: no chunk was sent more than once beyond what the kill explains.
        var report = await ByteExcessReport.MeasureAsync(
            _emulator.Context,
            chunks.Select(c => c.GetProperty("documentId").GetString()!),
            interrupted.ToDictionary(id => id, _ => killedAt),
            TimeSpan.FromSeconds(30));
        output.WriteLine($"{interrupted.Count} chunks held by the killed instance; bytes sent: {report}");
        Assert.Empty(report.NeverSent);
        Assert.True(report.IsWithin(0.01), $"A chunk was downloaded more than once: {report}");
    }
}

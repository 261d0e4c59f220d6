using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Emulator.Storage;
using CallVault.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The service as a real process, killed with SIGKILL in the middle of a download and started again: every chunk ends
/// up stored once, byte-identical, and the interrupted chunk resumes from its partial file instead of starting over.
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const long ChunkBytes = 10 * 1024 * 1024;
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-crash-").FullName;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly int _port = FreePort();
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;
    private Process? _process;

    private Uri BaseAddress => new($"http://127.0.0.1:{_port}/");

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _admin.Dispose();
        await _emulator.DisposeAsync();
        Directory.Delete(_dataFolder, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartServiceAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.BuiltAssembly("CallVault.Server") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dataFolder,
        };
        var settings = ServerUnderTest.SettingsFor(_emulator, _dataFolder, _secret);
        settings["Urls"] = BaseAddress.AbsoluteUri;
        settings["CallVault:Acs:Download:ParallelConnections"] = "1";
        settings["CallVault:Worker:Concurrency"] = "1";
        settings["CallVault:Storage:SyncIntervalMiB"] = "1";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = BaseAddress };
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(ct => ServerUnderTest.IsLiveAsync(client, ct), TimeSpan.FromSeconds(60)),
            "The service did not start.");
    }

    private long PartialBytes() => Directory.Exists(Path.Combine(_dataFolder, "recordings"))
        ? Directory.EnumerateFiles(Path.Combine(_dataFolder, "recordings"), "*.partial", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)
        : 0;

    /// <summary>What the partial files' checkpoints say is durable: all a restart may resume from.</summary>
    private long CheckpointedBytes() => Directory.Exists(Path.Combine(_dataFolder, "recordings"))
        ? Directory.EnumerateFiles(Path.Combine(_dataFolder, "recordings"), "*.partial.ckpt", SearchOption.AllDirectories)
            .Sum(CheckpointedLength)
        : 0;

    private static long CheckpointedLength(string checkpoint)
    {
        try
        {
            return File.ReadAllLines(checkpoint) is [_, var length, _] ? long.Parse(length, CultureInfo.InvariantCulture) : 0;
        }
        catch (FileNotFoundException)
        {
            // Committed meanwhile: the checkpoint is removed with the partial file.
            return 0;
        }
    }

    /// <summary>The chunks leased when the service died; read before the restart, which releases them.</summary>
    private List<string> LeasedChunks()
    {
        var builder = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_dataFolder, "callvault.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        using var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT document_id FROM chunks WHERE state = 'Leased';";
        using var reader = command.ExecuteReader();
        var leased = new List<string>();
        while (reader.Read())
        {
            leased.Add(reader.GetString(0));
        }

        return leased;
    }

    [Fact]
    public async Task KilledMidDownload_RestartResumesAndStoresEveryChunkOnce()
    {
        await StartServiceAsync();
        using (var subscribe = await _admin.PostAsJsonAsync("subscriptions", new { endpoint = new Uri(BaseAddress, $"api/events?code={_secret}").AbsoluteUri }))
        {
            Assert.True(subscribe.IsSuccessStatusCode, await subscribe.Content.ReadAsStringAsync());
        }

        // 4 MB/s per connection: a 10 MiB chunk takes about 2.5 s, long enough to be caught half-way.
        (await _admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 4_000_000 })).EnsureSuccessStatusCode();
        using var recorded = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 2 * ChunkBytes, chunkSizeLimitBytes = ChunkBytes });
        var recording = await recorded.Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => CheckpointedBytes() >= 4 * 1024 * 1024, TimeSpan.FromSeconds(60)), "No download got under way.");
        _process!.Kill();
        await _process.WaitForExitAsync();
        var persistedAtKill = CheckpointedBytes();
        var killedAt = _emulator.Context.TimeProvider.GetUtcNow();
        var interrupted = LeasedChunks();
        _process.Dispose();
        _process = null;

        await StartServiceAsync();
        using var client = new HttpClient { BaseAddress = BaseAddress };
        var callId = recording.GetProperty("callId").GetString();
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async ct => await client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}", ct) is [var r] && r.GetProperty("status").GetString() == "stored",
                TimeSpan.FromSeconds(90)),
            "The recording was not stored after the restart.");

        var stored = await client.GetFromJsonAsync<JsonElement>($"api/recordings/{(await client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}"))![0].GetProperty("key").GetString()}");
        var expected = recording.GetProperty("chunks").EnumerateArray().ToList();
        var chunks = stored.GetProperty("chunks").EnumerateArray().ToList();
        Assert.Equal(2, chunks.Count);
        for (var i = 0; i < 2; i++)
        {
            var path = Path.Combine(_dataFolder, "recordings", chunks[i].GetProperty("media").GetProperty("path").GetString()!);
            Assert.Equal(expected[i].GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))));
        }

        var mediaFiles = Directory.EnumerateFiles(Path.Combine(_dataFolder, "recordings"), "chunk-*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".metadata.json", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(2, mediaFiles.Count);
        Assert.Equal(0, PartialBytes());

        // Resumed, not restarted: after the restart the emulator sent the rest of the object and no more than what
        // was in flight at the kill (bytes sent but not yet on disk), never the persisted part again.
        var metadataBytes = _emulator.Context.Recordings.Find(recording.GetProperty("recordingId").GetString()!)!.Chunks.Sum(c => (long)c.Metadata.Length);
        // Counted per request that reached the emulator after the kill: the emulator may still write into the dead
        // process's connection for a moment after it is gone, and those bytes were not sent to the restarted service.
        var sentAfterKill = _emulator.Context.ObjectRequests.Where(r => r.Started > killedAt).Sum(r => r.BytesSent);
        var report = await ByteExcessReport.MeasureAsync(_emulator.Context, expected.Select(c => c.GetProperty("documentId").GetString()!), interrupted.ToDictionary(id => id, _ => killedAt), TimeSpan.FromSeconds(30));
        output.WriteLine($"bytes sent: {report}");
        Assert.True(report.IsWithin(0.01), $"A chunk was downloaded more than once: {report}");
        Assert.True(persistedAtKill >= 4 * 1024 * 1024);
        Assert.True(
            sentAfterKill <= (2 * ChunkBytes) + metadataBytes - persistedAtKill,
            $"After the restart {sentAfterKill} bytes were sent; with {persistedAtKill} persisted at the kill, at most {(2 * ChunkBytes) + metadataBytes - persistedAtKill} were needed.");
    }
}

using CallVault.Jobs;
using CallVault.Jobs.Sqlite;
using CallVault.Processing;
using CallVault.Storage;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Processing;

public sealed class ManifestWriterTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-manifest-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero));
    private SqliteJobStore _jobs = null!;

    public async Task InitializeAsync()
    {
        _jobs = new SqliteJobStore($"Data Source={Path.Combine(_folder, "jobs.db")}", _clock);
        await _jobs.Schema.InitializeAsync(default);
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private static ChunkRequest Chunk(string recording) => new()
    {
        DocumentId = "doc-" + recording,
        Recording = new RecordingInfo { Key = recording, RecordingId = recording, CallId = "call-" + recording },
        EventTime = new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero),
    };

    /// <summary>Writing the manifests of many recordings, some at once, leaves no per-recording lock behind.</summary>
    [Fact]
    public async Task WriteAsync_ManyRecordings_KeepsNoLockPerRecording()
    {
        var writer = new ManifestWriter(_jobs, new DiskRecordingStore(Path.Combine(_folder, "recordings")), _clock);
        var recordings = Enumerable.Range(0, 300).Select(i => $"rec-{i}").ToList();
        await _jobs.Queue.EnqueueAsync([.. recordings.Select(r => new EventChunks("e-" + r, [Chunk(r)]))], default);

        // Three writers per recording at once, so that entries are shared while in use and then let go.
        await Task.WhenAll(recordings.SelectMany(r => Enumerable.Range(0, 3).Select(_ => Task.Run(() => writer.WriteAsync(r, "folder-" + r, completing: null, default)))));

        Assert.Equal(0, writer.LockEntries);
        Assert.All(recordings, r => Assert.True(File.Exists(Path.Combine(_folder, "recordings", "folder-" + r, "manifest.json"))));
    }

    /// <summary>
    /// The sweeper's repair: a manifest that says what the store says is read, not written again (no synced write per
    /// recording per pass); one that lacks a stored chunk, or is torn, is rewritten.
    /// </summary>
    [Fact]
    public async Task RefreshAsync_RewritesOnlyAStaleOrTornManifest()
    {
        var writer = new ManifestWriter(_jobs, new DiskRecordingStore(Path.Combine(_folder, "recordings")), _clock);
        var manifest = Path.Combine(_folder, "recordings", "folder-r", "manifest.json");
        await _jobs.Queue.EnqueueAsync("e-r", [Chunk("r")], default);
        await writer.WriteAsync("r", "folder-r", completing: null, default);

        Assert.False(await writer.RefreshAsync("r", "folder-r", default));

        var lease = (await _jobs.Queue.TryLeaseAsync("w", TimeSpan.FromMinutes(1), default))!;
        await _jobs.Transitions.CompleteAsync(lease, new ChunkProgress { Media = new StoredObjectInfo("folder-r/chunk-000.wav", 5, "ab", "audio/wav") }, note: null, default);
        Assert.True(await writer.RefreshAsync("r", "folder-r", default));
        Assert.Contains("\"status\": \"stored\"", await File.ReadAllTextAsync(manifest), StringComparison.Ordinal);
        Assert.False(await writer.RefreshAsync("r", "folder-r", default));

        await File.WriteAllTextAsync(manifest, "{\"key\": \"r\", \"chun");
        Assert.True(await writer.RefreshAsync("r", "folder-r", default));
        Assert.False(await writer.RefreshAsync("r", "folder-r", default));
    }

    /// <summary>The worker writes the manifest a second time only when the first did not list every chunk as stored.</summary>
    [Fact]
    public async Task WriteAsync_SaysWhetherEveryChunkIsListedAsStored()
    {
        var writer = new ManifestWriter(_jobs, new DiskRecordingStore(Path.Combine(_folder, "recordings")), _clock);
        await _jobs.Queue.EnqueueAsync("e-r", [Chunk("r"), Chunk("r") with { DocumentId = "doc-r-2", Index = 1 }], default);
        var first = (await _jobs.Queue.TryLeaseAsync("w", TimeSpan.FromMinutes(1), default))!;

        Assert.False(await writer.WriteAsync("r", "folder-r", first.Job, default));
        await _jobs.Transitions.CompleteAsync(first, default);
        var second = (await _jobs.Queue.TryLeaseAsync("w", TimeSpan.FromMinutes(1), default))!;
        Assert.True(await writer.WriteAsync("r", "folder-r", second.Job, default));
    }
}

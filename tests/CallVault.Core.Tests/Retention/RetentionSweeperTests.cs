using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Azure.Storage.Blobs;
using CallVault.Audit;
using CallVault.Core.Tests.Jobs;
using CallVault.Jobs;
using CallVault.Processing;
using CallVault.Retention;
using CallVault.Storage;
using CallVault.Storage.AzureBlob;
using CallVault.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Retention;

/// <summary>
/// The retention sweep on a fake clock, with real files in a real recording store: what is due goes with its files and
/// leaves a tombstone; what is young, held or not verified stays; an interrupted deletion is finished; two instances
/// delete each recording once. One subclass per job store and recording store.
/// </summary>
public abstract class RetentionSweeperTests(JobStoreBackend backend) : IAsyncLifetime
{
    private const int KeepDays = 30;
    private static readonly DateTimeOffset Start = new(2026, 3, 3, 10, 0, 0, TimeSpan.Zero);
    private readonly TestMeterFactory _meters = new();

    protected FakeTimeProvider Clock { get; } = new(Start);

    private IJobStore Jobs { get; set; } = null!;

    private IRecordingStore Files { get; set; } = null!;

    // The fake clock jumps weeks at a time with nothing received in between; the clock-jump guard has its own test.
    private RetentionOptions Options { get; } = new() { KeepDays = KeepDays, BatchSize = 2, ClockLeadTolerance = TimeSpan.FromDays(400) };

    protected abstract Task<IRecordingStore> CreateRecordingStoreAsync();

    /// <summary>Every object in the recording store.</summary>
    protected abstract Task<IReadOnlyList<string>> ListObjectsAsync();

    public async Task InitializeAsync()
    {
        Jobs = await backend.CreateAsync(Clock);
        await Jobs.Schema.InitializeAsync(default);
        Files = await CreateRecordingStoreAsync();
    }

    public virtual async Task DisposeAsync()
    {
        _meters.Dispose();
        await backend.DisposeAsync();
    }

    [Fact]
    public async Task Sweep_OlderThanKeepDays_DeletesItsFilesAndKeepsATombstone_AYoungerOneStays()
    {
        var old = await StoreRecordingAsync("old", chunks: 2);
        Clock.Advance(TimeSpan.FromDays(10));
        var young = await StoreRecordingAsync("young", chunks: 1);
        Clock.Advance(TimeSpan.FromDays(KeepDays - 10) + TimeSpan.FromMinutes(1));

        Assert.Equal(1, await NewSweeper(Jobs, Files).SweepOnceAsync(default));

        Assert.Equal(young.Order(), (await ListObjectsAsync()).Order());
        Assert.Null(await Jobs.Recordings.GetRecordingAsync("old", default));
        Assert.NotNull(await Jobs.Recordings.GetRecordingAsync("young", default));
        var tombstone = Assert.Single(await Jobs.Retention.ListTombstonesAsync(10, default));
        Assert.Equal(("old", $"retention:KeepDays={KeepDays}", Clock.GetUtcNow(), 2), (tombstone.RecordingKey, tombstone.Rule, tombstone.DeletedAt, tombstone.Chunks.Count));
        Assert.All(tombstone.Chunks, c => Assert.Equal(64, c.MediaSha256!.Length));
        var audit = Assert.Single((await Jobs.AccessAudit.ListAsync(new AccessAuditQuery { RecordingKey = "old" }, default)).Records);
        Assert.Equal((RecordingDeleter.RetentionCaller, AccessAuditActions.RecordingDelete), (audit.Entry.Who, audit.Entry.Action));
        Assert.True(old.All(p => !p.Contains("young", StringComparison.Ordinal)));

        Clock.Advance(TimeSpan.FromDays(11));
        Assert.Equal(1, await NewSweeper(Jobs, Files).SweepOnceAsync(default));
        Assert.Empty(await ListObjectsAsync());
    }

    [Fact]
    public async Task Sweep_Held_StaysUntilTheHoldIsCleared_ThenGoes()
    {
        var files = await StoreRecordingAsync("held", chunks: 1);
        await Jobs.Retention.SetHoldAsync("held", "litigation", "legal", default);
        Clock.Advance(TimeSpan.FromDays(KeepDays * 3));
        var sweeper = NewSweeper(Jobs, Files);

        Assert.Equal(0, await sweeper.SweepOnceAsync(default));
        Assert.Equal(files.Order(), (await ListObjectsAsync()).Order());
        Assert.NotNull(await Jobs.Recordings.GetRecordingAsync("held", default));

        await Jobs.Retention.ClearHoldAsync("held", "legal", default);
        Assert.Equal(1, await sweeper.SweepOnceAsync(default));
        Assert.Empty(await ListObjectsAsync());
        Assert.NotNull(await Jobs.Retention.GetTombstoneAsync("held", default));
    }

    /// <summary>A recording with a chunk still pending is never deleted, however old its stored chunks are.</summary>
    [Fact]
    public async Task Sweep_WithAPendingChunk_Stays()
    {
        var files = await StoreRecordingAsync("partial", chunks: 1);
        await Jobs.Queue.EnqueueAsync("e-late", [Request("partial", 1)], default);
        Clock.Advance(TimeSpan.FromDays(KeepDays * 2));

        Assert.Equal(0, await NewSweeper(Jobs, Files).SweepOnceAsync(default));

        Assert.Equal(files.Order(), (await ListObjectsAsync()).Order());
        Assert.Empty(await Jobs.Retention.ListTombstonesAsync(10, default));
    }

    [Fact]
    public async Task Sweep_RetentionOff_DeletesNothing()
    {
        var files = await StoreRecordingAsync("kept", chunks: 1);
        Clock.Advance(TimeSpan.FromDays(3650));
        Options.KeepDays = null;

        Assert.Equal(0, await NewSweeper(Jobs, Files).SweepOnceAsync(default));
        Assert.Equal(files.Order(), (await ListObjectsAsync()).Order());
    }

    /// <summary>
    /// A deletion that stops half-way (the store fails after the first file, as a crash would leave it) is finished by
    /// the next pass of another instance: no files left, one tombstone.
    /// </summary>
    [Fact]
    public async Task Sweep_InterruptedMidDeletion_IsFinishedByTheNextPass()
    {
        await StoreRecordingAsync("cut", chunks: 2);
        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));
        var failing = new FailAfterDeletes(Files, deletesBeforeFailure: 1);

        Assert.Equal(0, await NewSweeper(Jobs, failing).SweepOnceAsync(default));
        Assert.NotEmpty(await ListObjectsAsync());
        Assert.Single(await Jobs.Retention.ListUnfinishedDeletionsAsync(10, default));

        var otherInstance = backend.NewInstance(Clock);
        Assert.Equal(1, await NewSweeper(otherInstance, Files).SweepOnceAsync(default));

        Assert.Empty(await ListObjectsAsync());
        Assert.Single(await Jobs.Retention.ListTombstonesAsync(10, default));
        Assert.Empty(await Jobs.Retention.ListUnfinishedDeletionsAsync(10, default));
    }

    /// <summary>
    /// A deletion that fails every time (a file the store cannot delete) does not stop the others: the pass goes on,
    /// counts the failure in callvault.retention.failures, and the next pass tries it again.
    /// </summary>
    [Fact]
    public async Task Sweep_OneDeletionFailingEveryTime_DoesNotBlockTheOthers()
    {
        await StoreRecordingAsync("stuck", chunks: 1);
        await StoreRecordingAsync("free-1", chunks: 1);
        await StoreRecordingAsync("free-2", chunks: 1);
        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));
        var failures = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "callvault.retention.failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref failures, value));
        listener.Start();
        var failing = new FailDeletesUnder(Files, "/call-stuck/");

        Assert.Equal(2, await NewSweeper(Jobs, failing).SweepOnceAsync(default));
        Assert.Equal(0, await NewSweeper(Jobs, failing).SweepOnceAsync(default));
        listener.RecordObservableInstruments();

        // One failure counted by each pass's sweeper (cumulative counters, one per sweeper here).
        Assert.Equal(2, Interlocked.Read(ref failures));
        Assert.Equal(["stuck"], (await Jobs.Retention.ListUnfinishedDeletionsAsync(10, default)).Select(d => d.RecordingKey));
        Assert.Equal(2, (await Jobs.Retention.ListTombstonesAsync(10, default)).Count);
    }

    /// <summary>Two instances sweeping at once: every recording is deleted once, by whichever holds the lease (the other's pass deletes nothing).</summary>
    [Fact]
    public async Task Sweep_TwoInstancesAtOnce_DeleteEachRecordingOnce()
    {
        for (var i = 0; i < 5; i++)
        {
            await StoreRecordingAsync($"rec-{i}", chunks: 1);
        }

        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));
        var first = NewSweeper(Jobs, Files);
        var second = NewSweeper(backend.NewInstance(Clock), Files);

        var deleted = await Task.WhenAll(first.SweepOnceAsync(default), second.SweepOnceAsync(default));

        Assert.Equal(5, deleted.Sum());
        Assert.Contains(0, deleted);
        Assert.Empty(await ListObjectsAsync());
        Assert.Equal(5, (await Jobs.Retention.ListTombstonesAsync(10, default)).Count);
        Assert.Equal(5, (await Jobs.AccessAudit.ListAsync(new AccessAuditQuery(), default)).Records.Count(r => r.Entry.Action == AccessAuditActions.RecordingDelete));
    }

    /// <summary>
    /// A chunk redelivered after its recording was deleted is recorded as refused (dead-lettered by the worker with the
    /// reason), not pending: it is not downloaded again into a recording that has a tombstone.
    /// </summary>
    [Fact]
    public async Task Redelivery_AfterTombstone_IsRefusedNotPending()
    {
        await StoreRecordingAsync("gone", chunks: 1);
        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));
        Assert.Equal(1, await NewSweeper(Jobs, Files).SweepOnceAsync(default));

        await Jobs.Queue.EnqueueAsync("e-redelivered", [Request("gone", 0)], default);

        var lease = Assert.IsType<ChunkLease>(await Jobs.Queue.TryLeaseAsync("worker", TimeSpan.FromMinutes(5), default));
        Assert.Equal("gone-d0", lease.DocumentId);
        Assert.Contains("deleted", lease.Job.Request.RejectedReason, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// A chunk delivered between the start of a deletion and its end is recorded refused and survives the deletion (a
    /// visible dead letter, not an acknowledged delivery silently removed with the recording's rows); the tombstone
    /// lists only what was deleted.
    /// </summary>
    [Fact]
    public async Task Delivery_DuringADeletion_IsRefusedAndKeptBesideTheTombstone()
    {
        await StoreRecordingAsync("late", chunks: 1);
        Assert.Equal(DeletionOutcome.Started, (await Jobs.Retention.BeginDeletionAsync("late", "manual:ops", null, default)).Outcome);

        await Jobs.Queue.EnqueueAsync("e-late-1", [Request("late", 1)], default);
        Assert.Equal(1, await NewSweeper(Jobs, Files).SweepOnceAsync(default));

        var tombstone = Assert.IsType<Tombstone>(await Jobs.Retention.GetTombstoneAsync("late", default));
        Assert.Equal("late-d0", Assert.Single(tombstone.Chunks).DocumentId);
        var left = Assert.IsType<RecordingDetails>(await Jobs.Recordings.GetRecordingAsync("late", default));
        var refused = Assert.Single(left.Chunks);
        Assert.Equal("late-d1", refused.Request.DocumentId);
        Assert.Contains("deleted", refused.Request.RejectedReason, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await Jobs.Retention.ListUnfinishedDeletionsAsync(10, default));
    }

    /// <summary>
    /// A recording stored again beside its tombstone (a redelivery before intake refused them) is neither counted as
    /// deleted nor listed as due again and again: the pass ends, and the audit log holds the one deletion.
    /// </summary>
    [Fact]
    public async Task Sweep_RowsBesideATombstone_EndsAndCountsNothing()
    {
        await StoreRecordingAsync("zombie", chunks: 1);
        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));
        Assert.Equal(1, await NewSweeper(Jobs, Files).SweepOnceAsync(default));
        await StoreRecordingAsync("zombie", chunks: 1, eventPrefix: "again");
        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));

        // Guards against the endless loop this test is about; a pass here takes milliseconds.
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        Assert.Equal(0, await NewSweeper(Jobs, Files).SweepOnceAsync(guard.Token));
        Assert.Empty(await Jobs.Retention.ListDueAsync(Clock.GetUtcNow(), 10, default));
        Assert.Single((await Jobs.AccessAudit.ListAsync(new AccessAuditQuery { RecordingKey = "zombie" }, default)).Records);
    }

    /// <summary>A pass deletes at most MaxDeletionsPerPass recordings; the rest wait for the next pass.</summary>
    [Fact]
    public async Task Sweep_DeletesAtMostTheCapPerPass()
    {
        for (var i = 0; i < 5; i++)
        {
            await StoreRecordingAsync($"cap-{i}", chunks: 1);
        }

        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));
        Options.MaxDeletionsPerPass = 3;

        Assert.Equal(3, await NewSweeper(Jobs, Files).SweepOnceAsync(default));
        Assert.Equal(2, await NewSweeper(Jobs, Files).SweepOnceAsync(default));
    }

    /// <summary>
    /// A clock jumped far ahead of everything the database recorded (newest stored or received time) sweeps nothing:
    /// it warns and counts the skip instead of deleting every recording not held.
    /// </summary>
    [Fact]
    public async Task Sweep_ClockFarAheadOfTheDatabase_DeletesNothing_AndCountsTheSkip()
    {
        var files = await StoreRecordingAsync("kept", chunks: 1);
        var skipped = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "callvault.retention.skipped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref skipped, value));
        listener.Start();
        Options.ClockLeadTolerance = TimeSpan.FromDays(7);
        Clock.Advance(TimeSpan.FromDays(KeepDays + 8));
        var sweeper = NewSweeper(Jobs, Files);

        Assert.Equal(0, await sweeper.SweepOnceAsync(default));
        Assert.Equal(files.Order(), (await ListObjectsAsync()).Order());
        Assert.Equal(1, Interlocked.Read(ref skipped));
    }

    /// <summary>
    /// A manifest writer that read the recording's rows before the deletion completed and writes after the deleter's
    /// last manifest delete removes the manifest it just wrote: nothing is left in the store beside the tombstone.
    /// </summary>
    [Fact]
    public async Task ManifestWrittenAfterTheDeletion_IsRemovedByItsWriter()
    {
        var files = await StoreRecordingAsync("raced", chunks: 1);
        Clock.Advance(TimeSpan.FromDays(KeepDays + 1));
        var racing = new DeleteBeforeReplace(Files, () => NewSweeper(Jobs, Files).SweepOnceAsync(default));

        await new ManifestWriter(Jobs, racing, Clock).WriteAsync("raced", RecordingLayout.FolderOf(Request("raced", 0).Recording, Start), completing: null, default);

        Assert.NotNull(await Jobs.Retention.GetTombstoneAsync("raced", default));
        Assert.Empty(await ListObjectsAsync());
        Assert.NotEmpty(files);
    }

    private RetentionSweeper NewSweeper(IJobStore jobs, IRecordingStore files)
    {
        var metrics = new RetentionMetrics(_meters);
        return new RetentionSweeper(
            jobs,
            new RecordingDeleter(jobs, files, metrics, NullLogger<RecordingDeleter>.Instance),
            metrics,
            new Monitor<RetentionOptions>(Options),
            Clock,
            NullLogger<RetentionSweeper>.Instance);
    }

    private static ChunkRequest Request(string recording, long index) => new()
    {
        DocumentId = $"{recording}-d{index}",
        Recording = new RecordingInfo { Key = recording, RecordingId = recording, CallId = "call-" + recording, FormatType = "Wav" },
        Index = index,
        ContentLocation = new Uri($"https://storage.asm.skype.com/v1/objects/{recording}-d{index}/content/audio"),
        MetadataLocation = new Uri($"https://storage.asm.skype.com/v1/objects/{recording}-d{index}/content/acsmetadata"),
        EventTime = Start,
    };

    /// <summary>Stores a recording as the worker does: media and metadata in the store, then the chunk completed, then the manifest.</summary>
    /// <returns>The store paths written.</returns>
    private async Task<List<string>> StoreRecordingAsync(string recording, int chunks, string eventPrefix = "e")
    {
        var paths = new List<string>();
        string? folder = null;
        for (var i = 0; i < chunks; i++)
        {
            var request = Request(recording, i);
            await Jobs.Queue.EnqueueAsync($"{eventPrefix}-{recording}-{i}", [request], default);
            var lease = (await Jobs.Queue.TryLeaseAsync("worker", TimeSpan.FromMinutes(5), default))!;
            folder = RecordingLayout.FolderOf(request.Recording, request.EventTime);
            var media = RandomNumberGenerator.GetBytes(300_000 + i);
            var metadata = System.Text.Encoding.UTF8.GetBytes($"{{\"chunkDocumentId\":\"{request.DocumentId}\"}}");
            var mediaPath = RecordingLayout.MediaPath(folder, i, "wav");
            var metadataPath = RecordingLayout.MetadataPath(folder, i);
            await using (var upload = await Files.OpenUploadAsync(mediaPath, default))
            {
                await upload.Content.WriteAsync(media);
                await upload.CommitAsync(default);
            }

            await Files.WriteOnceAsync(metadataPath, metadata, default);
            await Jobs.Transitions.RecordProgressAsync(
                lease,
                new ChunkProgress
                {
                    Media = new StoredObjectInfo(mediaPath, media.Length, Convert.ToHexStringLower(SHA256.HashData(media)), "audio/wav"),
                    Metadata = new StoredObjectInfo(metadataPath, metadata.Length, Convert.ToHexStringLower(SHA256.HashData(metadata)), "application/json"),
                },
                default);
            await Jobs.Transitions.CompleteAsync(lease, default);
            paths.Add(mediaPath);
            paths.Add(metadataPath);
        }

        await new ManifestWriter(Jobs, Files, Clock).WriteAsync(recording, folder!, completing: null, default);
        paths.Add(RecordingLayout.ManifestPath(folder!));
        return paths;
    }

    /// <summary>A recording store whose deletes fail after a number of them, as if the process died there.</summary>
    private sealed class FailAfterDeletes(IRecordingStore inner, int deletesBeforeFailure) : IRecordingStore
    {
        private int _deletes;

        public Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken) => inner.OpenUploadAsync(path, cancellationToken);

        public Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteOnceAsync(path, content, cancellationToken);

        public Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.ReplaceAsync(path, content, cancellationToken);

        public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

        public Task CheckWritableAsync(CancellationToken cancellationToken) => inner.CheckWritableAsync(cancellationToken);

        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _deletes) > deletesBeforeFailure ? throw new IOException("The process died here.") : inner.DeleteAsync(path, cancellationToken);
    }

    /// <summary>A recording store that cannot delete anything whose path contains a part.</summary>
    private sealed class FailDeletesUnder(IRecordingStore inner, string part) : IRecordingStore
    {
        public Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken) => inner.OpenUploadAsync(path, cancellationToken);

        public Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteOnceAsync(path, content, cancellationToken);

        public Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.ReplaceAsync(path, content, cancellationToken);

        public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

        public Task CheckWritableAsync(CancellationToken cancellationToken) => inner.CheckWritableAsync(cancellationToken);

        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken) =>
            path.Contains(part, StringComparison.Ordinal) ? throw new IOException("Permission denied (injected).") : inner.DeleteAsync(path, cancellationToken);
    }

    /// <summary>A recording store that runs a deletion just before its first replace goes through.</summary>
    private sealed class DeleteBeforeReplace(IRecordingStore inner, Func<Task<int>> deletion) : IRecordingStore
    {
        private int _replaces;

        public Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken) => inner.OpenUploadAsync(path, cancellationToken);

        public Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteOnceAsync(path, content, cancellationToken);

        public async Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _replaces) == 1)
            {
                Assert.Equal(1, await deletion());
            }

            await inner.ReplaceAsync(path, content, cancellationToken);
        }

        public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

        public Task CheckWritableAsync(CancellationToken cancellationToken) => inner.CheckWritableAsync(cancellationToken);

        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken) => inner.DeleteAsync(path, cancellationToken);
    }

    private sealed class Monitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            lock (_meters)
            {
                _meters.Add(meter);
            }

            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}

/// <summary>On a local folder.</summary>
public abstract class DiskRetentionSweeperTests(JobStoreBackend backend) : RetentionSweeperTests(backend)
{
    private readonly string _root = Directory.CreateTempSubdirectory("callvault-retention-").FullName;

    protected override Task<IRecordingStore> CreateRecordingStoreAsync() => Task.FromResult<IRecordingStore>(new DiskRecordingStore(_root));

    protected override Task<IReadOnlyList<string>> ListObjectsAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f).Replace('\\', '/'))]);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>On Azure Blob Storage, through the run's Azurite, one container per test.</summary>
public abstract class BlobRetentionSweeperTests(JobStoreBackend backend) : RetentionSweeperTests(backend)
{
    private readonly BlobContainerClient _container = new BlobServiceClient(TestServices.Azurite).GetBlobContainerClient("retention-" + Guid.NewGuid().ToString("N"));

    protected override Task<IRecordingStore> CreateRecordingStoreAsync() => Task.FromResult<IRecordingStore>(new AzureBlobRecordingStore(_container, blockSize: 256 * 1024));

    protected override async Task<IReadOnlyList<string>> ListObjectsAsync()
    {
        var names = new List<string>();
        await foreach (var blob in _container.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _container.DeleteIfExistsAsync();
    }
}

public sealed class SqliteDiskRetentionSweeperTests() : DiskRetentionSweeperTests(new SqliteBackend());

public sealed class PostgreSqlDiskRetentionSweeperTests() : DiskRetentionSweeperTests(new PostgreSqlBackend());

public sealed class SqliteBlobRetentionSweeperTests() : BlobRetentionSweeperTests(new SqliteBackend());

public sealed class PostgreSqlBlobRetentionSweeperTests() : BlobRetentionSweeperTests(new PostgreSqlBackend());

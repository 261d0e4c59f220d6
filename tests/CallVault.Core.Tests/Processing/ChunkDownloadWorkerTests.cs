using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using CallVault.Acs;
using CallVault.Acs.Recordings;
using CallVault.Diagnostics;
using CallVault.Jobs;
using CallVault.Jobs.Sqlite;
using CallVault.Processing;
using CallVault.Storage;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Processing;

/// <summary>The worker over a real SQLite store and a real HTTP object server on loopback, with time from a fake clock.</summary>
public sealed class ChunkDownloadWorkerTests : IAsyncLifetime
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(2);
    private static readonly byte[] Key = new byte[32];
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-worker-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero));
    private FaultyObjectServer _server = null!;
    private ServiceProvider _services = null!;
    private SqliteJobStore _jobs = null!;

    public async Task InitializeAsync()
    {
        _server = await FaultyObjectServer.StartAsync(Key);
        _jobs = new SqliteJobStore($"Data Source={Path.Combine(_folder, "jobs.db")}", _clock);
        await _jobs.Schema.InitializeAsync(default);
        var services = new ServiceCollection();
        services.AddAcsRecordingClient(options =>
        {
            options.ConnectionString = $"endpoint=https://contoso-acs.communication.azure.com/;accesskey={Convert.ToBase64String(Key)}";
            options.AllowedHosts.Add(_server.StorageBase.GetLeftPart(UriPartial.Authority));
            options.Download.ParallelConnections = 1;
            options.Download.StallTimeout = TimeSpan.FromMinutes(10);
        });
        _services = services.BuildServiceProvider(validateScopes: true);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _server.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>
    /// The lease is lost while the media is being downloaded: the download stops, and it is neither counted in the
    /// failure metric, nor logged as a failed attempt, nor recorded on the chunk as one.
    /// </summary>
    [Fact]
    public async Task LeaseLostDuringDownload_IsNotADownloadFailure()
    {
        _server.Objects["doc-1"] = 200_000;
        _server.Documents["doc-1"] = Encoding.UTF8.GetBytes("""{ "chunkDocumentId": "doc-1", "recordingInfo": { "format": "wav" }, "participants": [] }""");
        _server.Faults.Enqueue(new Fault(FaultKind.StallAfter, AfterBytes: 10_000));
        await _jobs.Queue.EnqueueAsync("e1", [new ChunkRequest
        {
            DocumentId = "doc-1",
            Recording = new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" },
            ContentLocation = _server.ContentUri("doc-1"),
            MetadataLocation = new Uri(_server.StorageBase, "v1/objects/doc-1/document"),
            EventTime = _clock.GetUtcNow(),
        }], default);
        var queue = new LosingQueue(_jobs.Queue);
        var logger = new ListLogger();
        using var meters = new TestMeterFactory();
        using var failures = new FailureCounter(meters);
        using var signal = new JobSignal();
        var options = new CallVaultOptions { Worker = { Concurrency = 1, LeaseDuration = LeaseDuration } };
        var worker = new ChunkDownloadWorker(
            new JobStoreWith(_jobs, queue),
            new DiskRecordingStore(Path.Combine(_folder, "recordings")),
            _services.GetRequiredService<AcsRecordingClient>(),
            new ManifestWriter(_jobs, new DiskRecordingStore(Path.Combine(_folder, "recordings")), _clock),
            signal,
            new DownloadsInFlight(),
            new CallVaultMetrics(meters, new JobStatisticsCache(), _clock),
            new Monitor<CallVaultOptions>(options),
            _services.GetRequiredService<IOptionsMonitor<AcsClientOptions>>(),
            _clock,
            logger);

        await worker.StartAsync(default);
        try
        {
            // The download is under way (the renewal's timer exists by then); the next renewal learns the lease is lost.
            await _server.StallReached.Task.WaitAsync(TimeSpan.FromSeconds(30));
            _clock.Advance(LeaseDuration / 3);
            await queue.LeasedAgain.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await worker.StopAsync(default);
        }

        Assert.Equal(0, failures.Total);
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning && e.EventName is "WillRetry" or "DeadLettered" or "BookkeepingFailed");
        Assert.Contains(logger.Entries, e => e.EventName == "LeaseLost");
        var chunk = (await _jobs.Recordings.GetRecordingAsync("rec-1", default))!.Chunks.Single();
        Assert.Equal((ChunkState.Leased, 1, null, null), (chunk.State, chunk.Attempts, chunk.LastError, chunk.Media));
    }

    /// <summary>
    /// A backlog costs one commit per chunk: the worker leases the next chunk in the commit that completes the one
    /// before, so only the first of three chunks is leased through the queue, and all three are stored.
    /// </summary>
    [Fact]
    public async Task Backlog_EachChunkAfterTheFirstIsLeasedInItsPredecessorsCompletingCommit()
    {
        var documents = new[] { "doc-1", "doc-2", "doc-3" };
        foreach (var (document, i) in documents.Select((d, i) => (d, i)))
        {
            _server.Objects[document] = 30_000;
            _server.Documents[document] = Encoding.UTF8.GetBytes($$"""{ "chunkDocumentId": "{{document}}", "recordingInfo": { "format": "wav" }, "participants": [] }""");
            await _jobs.Queue.EnqueueAsync("e" + i, [new ChunkRequest
            {
                DocumentId = document,
                Recording = new RecordingInfo { Key = "rec-" + i, RecordingId = "rec-" + i, CallId = "call-" + i },
                ContentLocation = _server.ContentUri(document),
                MetadataLocation = new Uri(_server.StorageBase, $"v1/objects/{document}/document"),
                EventTime = _clock.GetUtcNow().AddSeconds(i),
            }], default);
        }

        var queue = new CountingQueue(_jobs.Queue);
        using var meters = new TestMeterFactory();
        using var signal = new JobSignal();
        var store = new DiskRecordingStore(Path.Combine(_folder, "recordings"));
        var options = new CallVaultOptions { Worker = { Concurrency = 1, LeaseDuration = LeaseDuration, PollInterval = TimeSpan.FromMilliseconds(20) } };
        var worker = new ChunkDownloadWorker(
            new JobStoreWith(_jobs, queue),
            store,
            _services.GetRequiredService<AcsRecordingClient>(),
            new ManifestWriter(_jobs, store, _clock),
            signal,
            new DownloadsInFlight(),
            new CallVaultMetrics(meters, new JobStatisticsCache(), _clock),
            new Monitor<CallVaultOptions>(options),
            _services.GetRequiredService<IOptionsMonitor<AcsClientOptions>>(),
            _clock,
            new ListLogger());
        await worker.StartAsync(default);
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (worker.ChunksStored < documents.Length)
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        finally
        {
            await worker.StopAsync(default);
        }

        for (var i = 0; i < documents.Length; i++)
        {
            var chunk = (await _jobs.Recordings.GetRecordingAsync("rec-" + i, default))!.Chunks.Single();
            Assert.Equal((ChunkState.Stored, 1, 30_000L), (chunk.State, chunk.Attempts, chunk.Media?.Length));
        }

        Assert.Equal(1, queue.Leased);
    }

    /// <summary>
    /// The lease a completing commit takes is renewed from the moment the commit returns: the manifest's second write
    /// (the recording's other chunk was not stored yet) hangs for longer than a lease, and the next chunk is still this
    /// worker's afterwards, downloaded once, on its first attempt, without a lost lease.
    /// </summary>
    [Fact]
    public async Task SlowManifestWriteAfterTheCompletingCommit_TheNextLeaseIsRenewedMeanwhile()
    {
        foreach (var (document, i) in new[] { "doc-1", "doc-2" }.Select((d, i) => (d, i)))
        {
            _server.Objects[document] = 30_000;
            _server.Documents[document] = Encoding.UTF8.GetBytes($$"""{ "chunkDocumentId": "{{document}}", "recordingInfo": { "format": "wav" }, "participants": [] }""");
            await _jobs.Queue.EnqueueAsync("e" + i, [new ChunkRequest
            {
                DocumentId = document,
                Index = i,
                Recording = new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" },
                ContentLocation = _server.ContentUri(document),
                MetadataLocation = new Uri(_server.StorageBase, $"v1/objects/{document}/document"),
                EventTime = _clock.GetUtcNow(),
            }], default);
        }

        var queue = new RenewalWatchingQueue(_jobs.Queue, "doc-2");
        var logger = new ListLogger();
        using var meters = new TestMeterFactory();
        using var signal = new JobSignal();
        var store = new DiskRecordingStore(Path.Combine(_folder, "recordings"));
        var manifests = new SecondReplaceStallingStore(store);
        var options = new CallVaultOptions { Worker = { Concurrency = 1, LeaseDuration = LeaseDuration, PollInterval = TimeSpan.FromMilliseconds(20) } };
        var worker = new ChunkDownloadWorker(
            new JobStoreWith(_jobs, queue),
            store,
            _services.GetRequiredService<AcsRecordingClient>(),
            new ManifestWriter(_jobs, manifests, _clock),
            signal,
            new DownloadsInFlight(),
            new CallVaultMetrics(meters, new JobStatisticsCache(), _clock),
            new Monitor<CallVaultOptions>(options),
            _services.GetRequiredService<IOptionsMonitor<AcsClientOptions>>(),
            _clock,
            logger);
        await worker.StartAsync(default);
        try
        {
            // The first chunk is committed and its manifest's second write hangs; the next lease's renewal is due a
            // third of a lease later, and once renewed the lease outlives its first end.
            await manifests.SecondReplaceEntered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            _clock.Advance(LeaseDuration / 3);
            await queue.Renewed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            _clock.Advance((LeaseDuration * 2 / 3) + TimeSpan.FromSeconds(1));
            manifests.Release.SetResult();

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (worker.ChunksStored < 2)
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        finally
        {
            // The hanging write does not observe the stop: released first, so that a failed wait cannot hang the test.
            manifests.Release.TrySetResult();
            await worker.StopAsync(default);
        }

        var chunks = (await _jobs.Recordings.GetRecordingAsync("rec-1", default))!.Chunks;
        Assert.All(chunks, c => Assert.Equal((ChunkState.Stored, 1), (c.State, c.Attempts)));
        Assert.DoesNotContain(logger.Entries, e => e.EventName is "LeaseLost" or "LeaseExpired");
        Assert.Equal(1, queue.Leased);
    }

    /// <summary>
    /// The completing commit goes through but its answer is lost (a PostgreSQL connection dropped during COMMIT): the
    /// chunk is stored, so on its last attempt it is neither counted as a failed download nor logged as dead-lettered.
    /// </summary>
    [Fact]
    public async Task CompletingCommitFailsAfterCommitting_IsNotReportedAsAFailure()
    {
        _server.Objects["doc-1"] = 30_000;
        _server.Documents["doc-1"] = Encoding.UTF8.GetBytes("""{ "chunkDocumentId": "doc-1", "recordingInfo": { "format": "wav" }, "participants": [] }""");
        await _jobs.Queue.EnqueueAsync("e1", [new ChunkRequest
        {
            DocumentId = "doc-1",
            Recording = new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" },
            ContentLocation = _server.ContentUri("doc-1"),
            MetadataLocation = new Uri(_server.StorageBase, "v1/objects/doc-1/document"),
            EventTime = _clock.GetUtcNow(),
        }], default);
        var transitions = new AnswerLostCompletion(_jobs.Transitions);
        var logger = new ListLogger();
        using var meters = new TestMeterFactory();
        using var failures = new FailureCounter(meters);
        using var signal = new JobSignal();
        var store = new DiskRecordingStore(Path.Combine(_folder, "recordings"));
        var options = new CallVaultOptions { Worker = { Concurrency = 1, LeaseDuration = LeaseDuration, MaxAttempts = 1, PollInterval = TimeSpan.FromMilliseconds(20) } };
        var worker = new ChunkDownloadWorker(
            new JobStoreWith(_jobs, _jobs.Queue, transitions),
            store,
            _services.GetRequiredService<AcsRecordingClient>(),
            new ManifestWriter(_jobs, store, _clock),
            signal,
            new DownloadsInFlight(),
            new CallVaultMetrics(meters, new JobStatisticsCache(), _clock),
            new Monitor<CallVaultOptions>(options),
            _services.GetRequiredService<IOptionsMonitor<AcsClientOptions>>(),
            _clock,
            logger);
        await worker.StartAsync(default);
        try
        {
            await transitions.FailedAfterCommit.Task.WaitAsync(TimeSpan.FromSeconds(30));
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!logger.Entries.Any(e => e.EventName is "LeaseLost" or "WillRetry" or "DeadLettered" or "BookkeepingFailed"))
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        finally
        {
            await worker.StopAsync(default);
        }

        Assert.Equal(0, failures.Total);
        Assert.DoesNotContain(logger.Entries, e => e.EventName is "WillRetry" or "DeadLettered" or "BookkeepingFailed");
        var chunk = (await _jobs.Recordings.GetRecordingAsync("rec-1", default))!.Chunks.Single();
        Assert.Equal((ChunkState.Stored, 1), (chunk.State, chunk.Attempts));
    }

    /// <summary>
    /// A retry after a crash finds this chunk's metadata document already stored, and ACS now serves the same chunk's
    /// document with other bytes: the stored one is kept and the chunk is stored, not dead-lettered as a conflict.
    /// </summary>
    [Fact]
    public async Task MetadataOfTheSameChunkAlreadyStoredWithOtherBytes_IsKeptAndTheChunkStored()
    {
        var stored = """{ "chunkDocumentId": "doc-1", "recordingInfo": { "format": "wav" }, "participants": [] }"""u8.ToArray();
        var (recording, folder) = await PlaceMetadataAsync(stored);

        var chunk = await RunUntilSettledAsync(recording, """{"chunkDocumentId":"doc-1","recordingInfo":{"format":"wav"},"participants":[]}""");

        Assert.Equal(ChunkState.Stored, chunk.State);
        Assert.Equal(stored, await File.ReadAllBytesAsync(Path.Combine(_folder, "recordings", RecordingLayout.MetadataPath(folder, 0))));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stored)), chunk.Metadata!.Sha256);
    }

    /// <summary>Another chunk's metadata document at this chunk's path is a real conflict: refused, kept, dead-lettered.</summary>
    [Fact]
    public async Task MetadataOfAnotherChunkAtThePath_IsAConflictAndTheChunkDeadLettered()
    {
        var other = """{ "chunkDocumentId": "doc-other", "recordingInfo": { "format": "wav" }, "participants": [] }"""u8.ToArray();
        var (recording, folder) = await PlaceMetadataAsync(other);

        var chunk = await RunUntilSettledAsync(recording, """{ "chunkDocumentId": "doc-1", "recordingInfo": { "format": "wav" }, "participants": [] }""");

        Assert.Equal(ChunkState.DeadLettered, chunk.State);
        Assert.Contains("already holds a different object", chunk.LastError, StringComparison.Ordinal);
        Assert.Equal(other, await File.ReadAllBytesAsync(Path.Combine(_folder, "recordings", RecordingLayout.MetadataPath(folder, 0))));
    }

    private const string WavMetadata = """{ "chunkDocumentId": "doc-1", "recordingInfo": { "format": "wav" }, "participants": [] }""";

    /// <summary>
    /// A crash after the media was committed but before it was recorded: the retry proves the stored object is this
    /// chunk's bytes with one small tail request and adopts it, instead of downloading the whole chunk a second time.
    /// </summary>
    [Fact]
    public async Task MediaAlreadyCommittedButNotRecorded_IsAdoptedWithoutASecondDownload()
    {
        const long Size = 1_000_000;
        var (recording, folder) = await PlaceMediaAsync(ObjectBytes(Size));

        var chunk = await RunUntilSettledAsync(recording, WavMetadata, Size);

        Assert.Equal(ChunkState.Stored, chunk.State);
        Assert.Equal((MediaPath(folder), Size, Convert.ToHexStringLower(FaultyObjectServer.Sha256Of(Size))), (chunk.Media!.Path, chunk.Media.Length, chunk.Media.Sha256));
        var media = (await _server.WaitForServedAsync()).Where(s => s.Path.EndsWith("/content/audio", StringComparison.Ordinal)).ToList();
        Assert.True(media.Sum(s => s.BytesSent) <= AcsRecordingClient.DefaultTailBytes, $"Media bytes served: {media.Sum(s => s.BytesSent)} in {media.Count} request(s).");
        Assert.Equal(ObjectBytes(Size), await File.ReadAllBytesAsync(Path.Combine(_folder, "recordings", MediaPath(folder))));
    }

    /// <summary>
    /// ACS ignores the tail's range and answers with the whole (large) object: that answer is not read and proves
    /// nothing, so the chunk is downloaded as usual and the commit accepts the same bytes already stored.
    /// </summary>
    [Fact]
    public async Task MediaAlreadyCommittedButTheTailRangeIgnored_IsDownloadedAndStored()
    {
        const long Size = 1_000_000;
        var (recording, folder) = await PlaceMediaAsync(ObjectBytes(Size));
        _server.Faults.Enqueue(new Fault(FaultKind.IgnoreRange));

        var chunk = await RunUntilSettledAsync(recording, WavMetadata, Size);

        Assert.Equal(ChunkState.Stored, chunk.State);
        Assert.Equal((MediaPath(folder), Size, Convert.ToHexStringLower(FaultyObjectServer.Sha256Of(Size))), (chunk.Media!.Path, chunk.Media.Length, chunk.Media.Sha256));
        var media = (await _server.WaitForServedAsync()).Where(s => s.Path.EndsWith("/content/audio", StringComparison.Ordinal)).ToList();
        // The probe, answered with the whole object and left unread, then the download.
        Assert.Equal([200, 200], media.Select(s => s.Status));
    }

    /// <summary>
    /// Another object of the same size at the chunk's media path (it differs in its tail) is not adopted: the chunk is
    /// downloaded, refused as a conflict and dead-lettered, and the stored object is left as it was.
    /// </summary>
    [Fact]
    public async Task OtherMediaOfTheSameSizeAtThePath_IsNotAdoptedAndTheChunkDeadLettered()
    {
        const long Size = 1_000_000;
        var other = ObjectBytes(Size);
        other[^1] ^= 0xFF;
        var (recording, folder) = await PlaceMediaAsync(other);

        var chunk = await RunUntilSettledAsync(recording, WavMetadata, Size);

        Assert.Equal(ChunkState.DeadLettered, chunk.State);
        Assert.Contains("already holds a different object", chunk.LastError, StringComparison.Ordinal);
        Assert.Null(chunk.Media);
        Assert.Equal(other, await File.ReadAllBytesAsync(Path.Combine(_folder, "recordings", MediaPath(folder))));
    }

    /// <summary>
    /// The media is stored but ACS no longer has the object, so nothing proves the stored copy is this chunk: it is not
    /// adopted, and the dead-letter reason says a stored copy exists and needs a look.
    /// </summary>
    [Fact]
    public async Task MediaStoredButGoneFromAcs_IsNotAdoptedAndTheReasonNamesTheStoredCopy()
    {
        var (recording, folder) = await PlaceMediaAsync(ObjectBytes(100_000));

        var chunk = await RunUntilSettledAsync(recording, WavMetadata, mediaSize: null);

        Assert.Equal(ChunkState.DeadLettered, chunk.State);
        Assert.Null(chunk.Media);
        Assert.Contains("404", chunk.LastError, StringComparison.Ordinal);
        Assert.Contains($"A stored copy at {MediaPath(folder)}", chunk.LastError, StringComparison.Ordinal);
    }

    /// <summary>
    /// A retry finds this chunk's metadata document stored by an earlier attempt (not recorded: the completing commit
    /// records it): it is adopted without asking ACS for it again, and recorded with the chunk.
    /// </summary>
    [Fact]
    public async Task MetadataOfThisChunkAlreadyStored_IsAdoptedWithoutFetchingItAgain()
    {
        var stored = """{ "chunkDocumentId": "doc-1", "recordingInfo": { "format": "wav" }, "participants": [{ "participantId": "p-1" }] }"""u8.ToArray();
        await PlaceMetadataAsync(stored);

        var chunk = await RunUntilSettledAsync(new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" }, WavMetadata);

        Assert.Equal(ChunkState.Stored, chunk.State);
        Assert.Equal(0, _server.DocumentRequestsReceived);
        Assert.Equal((stored.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stored))), (chunk.Metadata!.Length, chunk.Metadata.Sha256));
        Assert.Equal(Encoding.UTF8.GetString(stored), chunk.MetadataJson);
    }

    /// <summary>A stored document that does not name its chunk proves nothing: it is fetched again (and the write decides).</summary>
    [Fact]
    public async Task MetadataStoredWithoutAChunkId_IsFetchedAgain()
    {
        var stored = """{ "recordingInfo": { "format": "wav" }, "participants": [] }"""u8.ToArray();
        await PlaceMetadataAsync(stored);

        var chunk = await RunUntilSettledAsync(new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" }, Encoding.UTF8.GetString(stored));

        Assert.Equal(ChunkState.Stored, chunk.State);
        Assert.Equal(1, _server.DocumentRequestsReceived);
    }

    /// <summary>
    /// A kill between committing the media and the completing commit (the manifest write sits there), and ACS deletes the
    /// chunk before the retry. For a chunk due to leave ACS within two hours, the files were recorded as soon as the media
    /// was stored, so the retry needs nothing from ACS and the chunk is stored, not dead-lettered.
    /// </summary>
    [Fact]
    public async Task CrashBeforeCompletingNearAcsExpiry_ThenGoneFromAcs_IsStoredFromTheRecordedFiles()
    {
        var (chunk, completions) = await CrashBeforeCompletingThenGoneFromAcsAsync(eventAge: TimeSpan.FromHours(23));

        Assert.Equal(ChunkState.Stored, chunk.State);
        Assert.Equal(2, completions);
        Assert.Equal((50_000L, Convert.ToHexStringLower(FaultyObjectServer.Sha256Of(50_000))), (chunk.Media!.Length, chunk.Media.Sha256));
        Assert.NotNull(chunk.Metadata);
    }

    /// <summary>
    /// The same far from ACS's deletion: nothing is recorded before the completing commit (one commit per chunk), and a
    /// retry after ACS lost the chunk cannot prove the stored media whole, so it is dead-lettered naming the stored copy.
    /// </summary>
    [Fact]
    public async Task CrashBeforeCompletingFarFromAcsExpiry_ThenGoneFromAcs_NamesTheStoredCopy()
    {
        var (chunk, _) = await CrashBeforeCompletingThenGoneFromAcsAsync(eventAge: TimeSpan.Zero);

        Assert.Equal(ChunkState.DeadLettered, chunk.State);
        Assert.Null(chunk.Media);
        Assert.Contains("A stored copy at", chunk.LastError, StringComparison.Ordinal);
    }

    private async Task<(ChunkJob Chunk, int Completions)> CrashBeforeCompletingThenGoneFromAcsAsync(TimeSpan eventAge)
    {
        var recording = new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" };
        var transitions = new CrashingCompletion(_jobs.Transitions, () =>
        {
            // ACS's retention ends before the retry.
            _server.Objects.TryRemove("doc-1", out _);
            _server.Documents.TryRemove("doc-1", out _);
        });
        var chunk = await RunUntilSettledAsync(recording, WavMetadata, eventTime: _clock.GetUtcNow() - eventAge, transitions: transitions);
        return (chunk, transitions.Completions);
    }

    private static byte[] ObjectBytes(long size)
    {
        var bytes = new byte[size];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = FaultyObjectServer.ByteAt(i);
        }

        return bytes;
    }

    private static string MediaPath(string folder) => RecordingLayout.MediaPath(folder, 0, RecordingLayout.ExtensionFor("wav"));

    private async Task<(RecordingInfo Recording, string Folder)> PlaceMediaAsync(byte[] content)
    {
        var recording = new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" };
        var folder = RecordingLayout.FolderOf(recording, _clock.GetUtcNow());
        var upload = await new DiskRecordingStore(Path.Combine(_folder, "recordings")).OpenUploadAsync(MediaPath(folder), default);
        await using (upload)
        {
            await upload.Content.WriteAsync(content);
            await upload.CommitAsync(default);
        }

        return (recording, folder);
    }

    private async Task<(RecordingInfo Recording, string Folder)> PlaceMetadataAsync(byte[] content)
    {
        var recording = new RecordingInfo { Key = "rec-1", RecordingId = "rec-1", CallId = "call-1" };
        var folder = RecordingLayout.FolderOf(recording, _clock.GetUtcNow());
        await new DiskRecordingStore(Path.Combine(_folder, "recordings")).WriteOnceAsync(RecordingLayout.MetadataPath(folder, 0), content, default);
        return (recording, folder);
    }

    /// <summary>
    /// Runs the worker on chunk doc-1 (metadata served as given, media of <paramref name="mediaSize"/> bytes, or none
    /// when null) until the chunk is stored or dead-lettered.
    /// </summary>
    private async Task<ChunkJob> RunUntilSettledAsync(RecordingInfo recording, string servedMetadata, long? mediaSize = 50_000, DateTimeOffset? eventTime = null, IChunkTransitions? transitions = null)
    {
        if (mediaSize is { } size)
        {
            _server.Objects["doc-1"] = size;
        }

        _server.Documents["doc-1"] = Encoding.UTF8.GetBytes(servedMetadata);
        await _jobs.Queue.EnqueueAsync("e1", [new ChunkRequest
        {
            DocumentId = "doc-1",
            Recording = recording,
            ContentLocation = _server.ContentUri("doc-1"),
            MetadataLocation = new Uri(_server.StorageBase, "v1/objects/doc-1/document"),
            EventTime = eventTime ?? _clock.GetUtcNow(),
        }], default);
        using var meters = new TestMeterFactory();
        using var signal = new JobSignal();
        var store = new DiskRecordingStore(Path.Combine(_folder, "recordings"));

        // A failed attempt is due again at once (on the fake clock) and found within a short poll.
        var options = new CallVaultOptions { Worker = { Concurrency = 1, LeaseDuration = LeaseDuration, RetryBaseDelay = TimeSpan.Zero, PollInterval = TimeSpan.FromMilliseconds(20) } };
        var worker = new ChunkDownloadWorker(
            transitions is null ? _jobs : new JobStoreWith(_jobs, _jobs.Queue, transitions),
            store,
            _services.GetRequiredService<AcsRecordingClient>(),
            new ManifestWriter(_jobs, store, _clock),
            signal,
            new DownloadsInFlight(),
            new CallVaultMetrics(meters, new JobStatisticsCache(), _clock),
            new Monitor<CallVaultOptions>(options),
            _services.GetRequiredService<IOptionsMonitor<AcsClientOptions>>(),
            _clock,
            new ListLogger());
        await worker.StartAsync(default);
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                var chunk = (await _jobs.Recordings.GetRecordingAsync(recording.Key, deadline.Token))!.Chunks.Single();
                if (chunk.State is ChunkState.Stored or ChunkState.DeadLettered)
                {
                    return chunk;
                }

                await Task.Delay(20, deadline.Token);
            }
        }
        finally
        {
            await worker.StopAsync(default);
        }
    }

    /// <summary>Counts the chunks leased through the queue (not those leased by a completing commit).</summary>
    private sealed class CountingQueue(IChunkQueue inner) : IChunkQueue
    {
        private int _leased;

        public int Leased => Volatile.Read(ref _leased);

        public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken) => inner.EnqueueAsync(events, cancellationToken);

        public async Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            var lease = await inner.TryLeaseAsync(owner, leaseDuration, cancellationToken);
            if (lease is not null)
            {
                Interlocked.Increment(ref _leased);
            }

            return lease;
        }

        public Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) => inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);
    }

    /// <summary>Counts the chunks leased through the queue, and says when one chunk's lease was renewed.</summary>
    private sealed class RenewalWatchingQueue(IChunkQueue inner, string documentId) : IChunkQueue
    {
        private int _leased;

        public int Leased => Volatile.Read(ref _leased);

        public TaskCompletionSource Renewed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken) => inner.EnqueueAsync(events, cancellationToken);

        public async Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            var lease = await inner.TryLeaseAsync(owner, leaseDuration, cancellationToken);
            if (lease is not null)
            {
                Interlocked.Increment(ref _leased);
            }

            return lease;
        }

        public async Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            await inner.RenewLeaseAsync(lease, leaseDuration, cancellationToken);
            if (lease.DocumentId == documentId)
            {
                Renewed.TrySetResult();
            }
        }
    }

    /// <summary>The first merged completion commits, then throws as a connection dropped before the answer would.</summary>
    private sealed class AnswerLostCompletion(IChunkTransitions inner) : IChunkTransitions
    {
        public TaskCompletionSource FailedAfterCommit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task RecordProgressAsync(ChunkLease lease, ChunkProgress progress, CancellationToken cancellationToken) => inner.RecordProgressAsync(lease, progress, cancellationToken);

        public Task CompleteAsync(ChunkLease lease, string? note, CancellationToken cancellationToken) => inner.CompleteAsync(lease, note, cancellationToken);

        public Task CompleteAsync(ChunkLease lease, ChunkProgress progress, string? note, CancellationToken cancellationToken) => inner.CompleteAsync(lease, progress, note, cancellationToken);

        public async Task<ChunkLease?> CompleteAndLeaseNextAsync(ChunkLease lease, ChunkProgress progress, string? note, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            var next = await inner.CompleteAndLeaseNextAsync(lease, progress, note, owner, leaseDuration, cancellationToken);
            if (FailedAfterCommit.TrySetResult())
            {
                throw new IOException("The connection was closed before the commit's answer arrived.");
            }

            return next;
        }

        public Task FailAsync(ChunkLease lease, string reason, DateTimeOffset? retryAt, CancellationToken cancellationToken) => inner.FailAsync(lease, reason, retryAt, cancellationToken);

        public Task ReleaseAsync(ChunkLease lease, CancellationToken cancellationToken) => inner.ReleaseAsync(lease, cancellationToken);
    }

    /// <summary>A store whose second replacement (the first chunk's second manifest write) waits until released.</summary>
    private sealed class SecondReplaceStallingStore(IRecordingStore inner) : IRecordingStore
    {
        private int _replaces;

        public TaskCompletionSource SecondReplaceEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken) => inner.OpenUploadAsync(path, cancellationToken);

        public Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) => inner.WriteOnceAsync(path, content, cancellationToken);

        public async Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _replaces) == 2)
            {
                SecondReplaceEntered.TrySetResult();
                await Release.Task.WaitAsync(cancellationToken);
            }

            await inner.ReplaceAsync(path, content, cancellationToken);
        }

        public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

        public Task CheckWritableAsync(CancellationToken cancellationToken) => inner.CheckWritableAsync(cancellationToken);

        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken) => inner.DeleteAsync(path, cancellationToken);
    }

    /// <summary>The store says the lease is lost at the first renewal; leasing again is seen, so the test knows the attempt ended.</summary>
    private sealed class LosingQueue(IChunkQueue inner) : IChunkQueue
    {
        private int _leases;

        public TaskCompletionSource LeasedAgain { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken) => inner.EnqueueAsync(events, cancellationToken);

        public Task<ChunkLease?> TryLeaseAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _leases) == 2)
            {
                LeasedAgain.TrySetResult();
            }

            return inner.TryLeaseAsync(owner, leaseDuration, cancellationToken);
        }

        public Task RenewLeaseAsync(ChunkLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
            throw new LeaseLostException("another worker has it");
    }

    /// <summary>
    /// The first merged completion fails as a kill there would (nothing of it is written), after running
    /// <paramref name="onCrash"/>; the retry's goes through.
    /// </summary>
    private sealed class CrashingCompletion(IChunkTransitions inner, Action onCrash) : IChunkTransitions
    {
        private int _completions;

        public int Completions => Volatile.Read(ref _completions);

        public Task RecordProgressAsync(ChunkLease lease, ChunkProgress progress, CancellationToken cancellationToken) => inner.RecordProgressAsync(lease, progress, cancellationToken);

        public Task CompleteAsync(ChunkLease lease, string? note, CancellationToken cancellationToken) => inner.CompleteAsync(lease, note, cancellationToken);

        public Task CompleteAsync(ChunkLease lease, ChunkProgress progress, string? note, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _completions) == 1)
            {
                onCrash();
                throw new IOException("killed before the completing commit");
            }

            return inner.CompleteAsync(lease, progress, note, cancellationToken);
        }

        public Task<ChunkLease?> CompleteAndLeaseNextAsync(ChunkLease lease, ChunkProgress progress, string? note, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _completions) == 1)
            {
                onCrash();
                throw new IOException("killed before the completing commit");
            }

            return inner.CompleteAndLeaseNextAsync(lease, progress, note, owner, leaseDuration, cancellationToken);
        }

        public Task FailAsync(ChunkLease lease, string reason, DateTimeOffset? retryAt, CancellationToken cancellationToken) => inner.FailAsync(lease, reason, retryAt, cancellationToken);

        public Task ReleaseAsync(ChunkLease lease, CancellationToken cancellationToken) => inner.ReleaseAsync(lease, cancellationToken);
    }

    private sealed class JobStoreWith(IJobStore inner, IChunkQueue queue, IChunkTransitions? transitions = null) : IJobStore
    {
        public IChunkQueue Queue => queue;

        public IChunkTransitions Transitions => transitions ?? inner.Transitions;

        public IDeadLetters DeadLetters => inner.DeadLetters;

        public IRecordingReadModel Recordings => inner.Recordings;

        public IJobStoreSchema Schema => inner.Schema;

        public CallVault.Events.IRejectedEventStore RejectedEvents => inner.RejectedEvents;

        public CallVault.Sessions.IRecordingSessionStore Sessions => inner.Sessions;
        public CallVault.Recovery.IDeadLetterRecoveryStore DeadLetterRecovery => inner.DeadLetterRecovery;
        public CallVault.Audit.IAccessAuditLog AccessAudit => inner.AccessAudit;

        public CallVault.Retention.IRetentionStore Retention => inner.Retention;
    }

    private sealed class Monitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly ConcurrentBag<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }

    /// <summary>Sums <c>callvault.downloads.failed</c> from this test's meters only.</summary>
    private sealed class FailureCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public FailureCounter(TestMeterFactory meters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "callvault.downloads.failed")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }

    private sealed class ListLogger : ILogger<ChunkDownloadWorker>
    {
        public ConcurrentQueue<(LogLevel Level, string? EventName)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, eventId.Name));
    }
}

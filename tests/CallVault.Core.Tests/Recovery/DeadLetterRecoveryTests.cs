using System.Diagnostics.Metrics;
using System.Text.Json;
using Azure.Storage.Blobs;
using CallVault.Acs;
using CallVault.Core.Tests.Jobs;
using CallVault.Events;
using CallVault.Jobs;
using CallVault.Processing;
using CallVault.Recovery;
using CallVault.Storage.AzureBlob.DeadLetters;
using CallVault.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Recovery;

/// <summary>
/// Dead-letter recovery against a real dead-letter container (Azurite) and a real SQLite job database: blobs in both
/// schemas and at any depth, with other events, unreadable blobs and events past retention.
/// </summary>
public sealed class DeadLetterRecoveryTests : IAsyncLifetime
{
    private const string Topic = "/subscriptions/1/resourcegroups/rg/providers/microsoft.communication/communicationservices/contoso";
    private static readonly DateTimeOffset Now = new(2026, 3, 3, 10, 0, 0, TimeSpan.Zero);

    private readonly SqliteBackend _backend = new();
    private readonly FakeTimeProvider _clock = new(Now);
    private readonly BlobContainerClient _container = new(TestServices.Azurite, "deadletter-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly DeadLetterRecoveryOptions _options = new() { ContainerName = "unused", ConnectionString = "unused" };
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly MeterListener _listener = new();
    private readonly List<GroupCommitEnqueuer> _enqueuers = [];
    private IJobStore _store = null!;

    public async Task InitializeAsync()
    {
        await _container.CreateAsync();
        _store = await _backend.CreateAsync(_clock);
        await _store.Schema.InitializeAsync(default);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name.StartsWith("callvault.deadletter.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (_counters)
            {
                _counters[instrument.Name] = _counters.GetValueOrDefault(instrument.Name) + value;
            }
        });
        _listener.Start();
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        foreach (var enqueuer in _enqueuers)
        {
            await enqueuer.DisposeAsync();
        }

        await _container.DeleteIfExistsAsync();
        await _backend.DisposeAsync();
    }

    /// <summary>Both schemas, nested prefixes, a non-recording event: recording chunks are enqueued once and marked recovered; a second pass changes nothing.</summary>
    [Fact]
    public async Task RunOnce_BlobsInBothSchemas_RecoversRecordingChunks_SkipsOthers_SecondPassChangesNothing()
    {
        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)},{EventGridRecording("e2", "d2", 1)},{EventGridOther("o1")}]");
        await UploadAsync("subscriptions/1/CALLVAULT-CE/2026/3/3/9/b.json", $"[{CloudEventRecording("c1", "d3")}]");
        var recovery = Recovery();

        var first = await recovery.RunOnceAsync("a", default);

        Assert.True(first.Leader);
        Assert.Equal(2, first.Blobs.Count);
        Assert.Equal((3L, 1L, 3L, 0L), (first.Blobs.Sum(b => b.EventsRecovered), first.Blobs.Sum(b => b.EventsSkipped), first.Blobs.Sum(b => b.NewChunks), first.Blobs.Sum(b => b.EventsLost)));
        var chunks = await ChunksAsync();
        Assert.Equal(["d1", "d2", "d3"], chunks.Select(c => c.Request.DocumentId).Order());
        Assert.All(chunks, c => Assert.Equal((ChunkState.Pending, DeadLetterChunkOutcome.Recovered), (c.State, c.DeadLetter?.Outcome)));
        Assert.Equal(Now.AddHours(-1), chunks.Single(c => c.Request.DocumentId == "d3").Request.EventTime);
        Assert.Equal(3, Counter("callvault.deadletter.events.recovered"));
        Assert.Equal(1, Counter("callvault.deadletter.events.skipped"));
        Assert.Equal(2, Counter("callvault.deadletter.blobs"));

        var second = await recovery.RunOnceAsync("a", default);

        Assert.Empty(second.Blobs);
        Assert.Equal(2, second.Listed);
        Assert.Equal(3, (await ChunksAsync()).Count);
        Assert.Equal(2, Counter("callvault.deadletter.blobs"));
    }

    /// <summary>A chunk the webhook already brought is neither enqueued again nor marked recovered.</summary>
    [Fact]
    public async Task RunOnce_ChunkTheWebhookHad_IsANoOp_AndNotMarked()
    {
        var intake = Intake();
        var delivered = Assert.IsType<IntakeResult.Events>(intake.Parse(BinaryData.FromString($"[{EventGridRecording("e1", "d1", 0)}]"), "application/json"));
        await _store.Queue.EnqueueAsync([.. delivered.Accepted.Select(a => new EventChunks(a.EventId, a.Chunks))], default);
        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)}]");

        var pass = await Recovery().RunOnceAsync("a", default);

        Assert.Equal(0, Assert.Single(pass.Blobs).NewChunks);
        Assert.Null(Assert.Single(await ChunksAsync()).DeadLetter);
    }

    /// <summary>Not JSON, not an array, too large, an element that is not an event: each kept as rejected with its reason, and the blob done.</summary>
    [Fact]
    public async Task RunOnce_UnreadableBlobs_AreKeptAsRejected_AndMarkedDone()
    {
        _options.MaxBlobBytes = 4096;
        await UploadAsync("CALLVAULT/2026/3/3/9/not-json.json", "[{\"id\": ");
        await UploadAsync("CALLVAULT/2026/3/3/9/object.json", EventGridRecording("e1", "d1", 0));
        await UploadAsync("CALLVAULT/2026/3/3/9/large.json", "[" + string.Join(',', Enumerable.Range(0, 20).Select(i => EventGridRecording($"l{i}", $"l{i}", i))) + "]");
        await UploadAsync("CALLVAULT/2026/3/3/9/mixed.json", $"[42,{EventGridRecording("e2", "d2", 0)}]");
        var recovery = Recovery();

        var pass = await recovery.RunOnceAsync("a", default);

        Assert.Equal(4, pass.Blobs.Count);
        Assert.Contains("not valid JSON", pass.Blobs.Single(b => b.Name.EndsWith("not-json.json", StringComparison.Ordinal)).RejectedReason, StringComparison.Ordinal);
        Assert.Contains("not an array", pass.Blobs.Single(b => b.Name.EndsWith("object.json", StringComparison.Ordinal)).RejectedReason, StringComparison.Ordinal);
        Assert.Contains("more than 4096", pass.Blobs.Single(b => b.Name.EndsWith("large.json", StringComparison.Ordinal)).RejectedReason, StringComparison.Ordinal);
        var mixed = pass.Blobs.Single(b => b.Name.EndsWith("mixed.json", StringComparison.Ordinal));
        Assert.Equal((null, 1L, 1L), (mixed.RejectedReason, mixed.EventsRejected, mixed.EventsRecovered));
        var rejected = await _store.RejectedEvents.ListAsync(10, default);
        Assert.Equal(4, rejected.Count);
        Assert.All(rejected, r => Assert.StartsWith("dead-letter:CALLVAULT/2026/3/3/9/", r.DeliveryId, StringComparison.Ordinal));
        Assert.Equal(["d2"], (await ChunksAsync()).Select(c => c.Request.DocumentId));

        Assert.Empty((await recovery.RunOnceAsync("a", default)).Blobs);
        Assert.All(await _store.RejectedEvents.ListAsync(10, default), r => Assert.Equal(1, r.Occurrences));
        Assert.Equal(4, Counter("callvault.deadletter.events.rejected"));
    }

    /// <summary>An event past ACS's retention: its chunk is reported lost with its ids, shown in its recording with the reason, and never due for a download.</summary>
    [Fact]
    public async Task RunOnce_EventPastRetention_IsReportedLost_NotDownloaded()
    {
        await UploadAsync("CALLVAULT/2026/3/2/8/old.json", $"[{EventGridRecording("old", "gone", 0, eventTime: Now.AddHours(-25), recordingId: "rec-old")}]");

        var pass = await Recovery().RunOnceAsync("a", default);

        Assert.Equal((1L, 0L), (Assert.Single(pass.Blobs).EventsLost, pass.Blobs[0].EventsRecovered));
        var lost = Assert.Single(await _store.DeadLetterRecovery.ListChunksAsync(DeadLetterChunkOutcome.Lost, 10, default));
        Assert.Equal(("gone", "rec-old", "call-1", "old", Now.AddHours(-1)), (lost.DocumentId, lost.RecordingId, lost.CallId, lost.EventId, lost.AcsExpiresAt));
        var chunk = Assert.Single(await ChunksAsync());
        Assert.Equal(DeadLetterChunkOutcome.Lost, chunk.DeadLetter?.Outcome);
        Assert.StartsWith("Lost: ", chunk.Request.RejectedReason, StringComparison.Ordinal);
        Assert.Equal(1, Counter("callvault.deadletter.events.lost"));
    }

    /// <summary>A CloudEvent without a time cannot be judged late: it is recovered, not reported lost.</summary>
    [Fact]
    public async Task RunOnce_CloudEventWithoutTime_IsRecoveredNotLost()
    {
        await UploadAsync("CALLVAULT/2026/3/3/9/untimed.json", $"[{CloudEventRecording("c1", "d1", withTime: false)}]");

        var pass = await Recovery().RunOnceAsync("a", default);

        Assert.Equal((1L, 0L), (Assert.Single(pass.Blobs).EventsRecovered, pass.Blobs[0].EventsLost));
        Assert.Equal(DeadLetterChunkOutcome.Recovered, Assert.Single(await ChunksAsync()).DeadLetter?.Outcome);
    }

    /// <summary>A blob rewritten after it was done (new ETag) is read again; the same name at the same ETag is not.</summary>
    [Fact]
    public async Task RunOnce_BlobRewritten_IsReadAgain()
    {
        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)}]");
        var recovery = Recovery();
        Assert.Single((await recovery.RunOnceAsync("a", default)).Blobs);

        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)},{EventGridRecording("e2", "d2", 1)}]");
        var again = await recovery.RunOnceAsync("a", default);

        Assert.Equal(1, Assert.Single(again.Blobs).NewChunks);
        Assert.Equal(2, (await ChunksAsync()).Count);
    }

    /// <summary>A failure after the commit but before the blob is marked done (a crash there) re-reads the blob next time and changes nothing.</summary>
    [Fact]
    public async Task RunOnce_FailureBetweenCommitAndMarkDone_NextPassReadsAgain_ChangesNothing()
    {
        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)},{EventGridRecording("e2", "d2", 1)}]");
        var failing = new FailingMarkStore(_store);

        var failed = await Recovery(failing).RunOnceAsync("a", default);
        Assert.Equal((1, 0), (failed.Failed, failed.Blobs.Count));
        var before = await ChunksAsync();
        Assert.Equal(2, before.Count);
        Assert.Empty(await _store.DeadLetterRecovery.ListBlobsAsync(10, default));

        var pass = await Recovery().RunOnceAsync("a", default);

        Assert.Equal(0, Assert.Single(pass.Blobs).NewChunks);
        Assert.Equivalent(before, await ChunksAsync());
        Assert.All(await ChunksAsync(), c => Assert.Equal(DeadLetterChunkOutcome.Recovered, c.DeadLetter?.Outcome));
    }

    /// <summary>Only the lease holder reads; another instance reads once the lease has expired.</summary>
    [Fact]
    public async Task RunOnce_AnotherInstanceHoldsTheLease_ReadsNothingUntilItExpires()
    {
        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)}]");
        Assert.True(await _store.DeadLetterRecovery.TryAcquireLeaseAsync("other-instance", _options.LeaseDuration, default));
        var recovery = Recovery();

        var refused = await recovery.RunOnceAsync("a", default);
        Assert.False(refused.Leader);
        Assert.Empty(await ChunksAsync());

        _clock.Advance(_options.LeaseDuration);
        Assert.Single((await recovery.RunOnceAsync("a", default)).Blobs);
    }

    /// <summary>With DeleteAfterRecovery, a blob is deleted once it is done.</summary>
    [Fact]
    public async Task RunOnce_DeleteAfterRecovery_DeletesTheDoneBlob()
    {
        _options.DeleteAfterRecovery = true;
        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)}]");

        await Recovery().RunOnceAsync("a", default);

        Assert.False(await _container.GetBlobClient("CALLVAULT/2026/3/3/9/a.json").ExistsAsync());
        Assert.Single(await ChunksAsync());
    }

    private DeadLetterRecovery Recovery(IJobStore? store = null, IDeadLetterSource? source = null, Microsoft.Extensions.Logging.ILogger<DeadLetterRecovery>? logger = null)
    {
        store ??= _store;
        var enqueuer = new GroupCommitEnqueuer(store.Queue);
        _enqueuers.Add(enqueuer);
        return new DeadLetterRecovery(
            source ?? new AzureDeadLetterSource(_container),
            store,
            Intake(),
            enqueuer,
            new JobSignal(),
            new DeadLetterRecoveryMetrics(new TestMeterFactory()),
            new Monitor<DeadLetterRecoveryOptions>(_options),
            new Monitor<CallVaultOptions>(new CallVaultOptions()),
            _clock,
            logger ?? NullLogger<DeadLetterRecovery>.Instance);
    }

    private static WebhookIntake Intake()
    {
        var acs = new AcsClientOptions { ConnectionString = "endpoint=https://contoso.communication.azure.com/;accesskey=" + Convert.ToBase64String(new byte[32]) };
        return new WebhookIntake(new Monitor<CallVaultOptions>(new CallVaultOptions()), new Monitor<AcsClientOptions>(acs), NullLogger<WebhookIntake>.Instance);
    }

    private async Task<List<ChunkJob>> ChunksAsync()
    {
        var all = new List<ChunkJob>();
        foreach (var state in Enum.GetValues<ChunkState>())
        {
            all.AddRange(await _store.Recordings.ListChunksAsync(state, 1000, default));
        }

        return all;
    }

    private long Counter(string name)
    {
        _listener.RecordObservableInstruments();
        lock (_counters)
        {
            return _counters.GetValueOrDefault(name);
        }
    }

    private async Task UploadAsync(string name, string content) => await _container.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), overwrite: true);

    private static Dictionary<string, object> RecordingData(string documentId, int index) => new()
    {
        ["recordingStorageInfo"] = new
        {
            recordingChunks = new[]
            {
                new { documentId, index, endReason = "SessionEnded", contentLocation = $"https://storage.asm.skype.com/v1/objects/{documentId}/content/audio", metadataLocation = $"https://storage.asm.skype.com/v1/objects/{documentId}/content/acsmetadata" },
            },
        },
        ["recordingStartTime"] = "2026-03-03T08:50:00Z",
        ["recordingDurationMs"] = 60000,
        ["sessionEndReason"] = "CallEnded",
    };

    /// <summary>An Event Grid schema recording event as Event Grid dead-letters it.</summary>
    private static string EventGridRecording(string id, string documentId, int index, DateTimeOffset? eventTime = null, string recordingId = "rec-1") => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["id"] = id,
        ["topic"] = Topic,
        ["subject"] = $"/recording/call/call-1/serverCallId/server-1/recordingId/{recordingId}",
        ["eventType"] = "Microsoft.Communication.RecordingFileStatusUpdated",
        ["dataVersion"] = "1.0",
        ["metadataVersion"] = "1",
        ["eventTime"] = (eventTime ?? Now.AddHours(-1)).ToString("O"),
        ["data"] = RecordingData(documentId, index),
        ["deadLetterReason"] = "MaxDeliveryAttemptsExceeded",
        ["deliveryAttempts"] = 30,
        ["lastDeliveryOutcome"] = "Busy",
        ["lastHttpStatusCode"] = 503,
        ["publishTime"] = (eventTime ?? Now.AddHours(-1)).ToString("O"),
        ["lastDeliveryAttemptTime"] = Now.AddMinutes(-6).ToString("O"),
    });

    private static string EventGridOther(string id) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["id"] = id,
        ["topic"] = Topic,
        ["subject"] = "/phonenumber/15555555555",
        ["eventType"] = "Microsoft.Communication.SMSReceived",
        ["dataVersion"] = "1.0",
        ["eventTime"] = Now.AddHours(-1).ToString("O"),
        ["data"] = new { message = "hi" },
        ["deadLetterReason"] = "UndeliverableDueToHttpBadRequest",
        ["deliveryAttempts"] = 1,
        ["lastDeliveryOutcome"] = "BadRequest",
        ["lastHttpStatusCode"] = 400,
    });

    /// <summary>A CloudEvents 1.0 recording event as Event Grid dead-letters it (dead-letter attributes in lower case).</summary>
    private static string CloudEventRecording(string id, string documentId, bool withTime = true)
    {
        var cloudEvent = CloudEventFields(id, documentId);
        if (!withTime)
        {
            cloudEvent.Remove("time");
        }

        return JsonSerializer.Serialize(cloudEvent);
    }

    private static Dictionary<string, object> CloudEventFields(string id, string documentId) => new()
    {
        ["specversion"] = "1.0",
        ["id"] = id,
        ["source"] = Topic,
        ["subject"] = "/recording/call/call-2/serverCallId/server-2/recordingId/rec-2",
        ["type"] = "Microsoft.Communication.RecordingFileStatusUpdated",
        ["time"] = Now.AddHours(-1).ToString("O"),
        ["datacontenttype"] = "application/json",
        ["data"] = RecordingData(documentId, 0),
        ["deadletterreason"] = "TimeToLiveExceeded",
        ["deliveryattempts"] = 7,
        ["lastdeliveryoutcome"] = "TimedOut",
        ["lasthttpstatuscode"] = 0,
        ["publishtime"] = Now.AddHours(-1).ToString("O"),
        ["lastdeliveryattempttime"] = Now.AddMinutes(-6).ToString("O"),
    };

    /// <summary>
    /// A blob whose read always fails (a storage error) neither stops the pass nor blocks the blobs after it; it is
    /// tried again after them, and after MaxBlobFailures failed passes it is kept as rejected, without the exception's
    /// message, and marked done.
    /// </summary>
    [Fact]
    public async Task RunOnce_BlobThatAlwaysFails_OtherBlobsAreRecovered_AndItIsGivenUpAfterTheBound()
    {
        _options.MaxBlobFailures = 2;
        await UploadAsync("CALLVAULT/2026/3/3/9/a-bad.json", $"[{EventGridRecording("e1", "d1", 0)}]");
        await UploadAsync("CALLVAULT/2026/3/3/9/b.json", $"[{EventGridRecording("e2", "d2", 1)}]");
        var source = new ThrowingSource(new AzureDeadLetterSource(_container), "CALLVAULT/2026/3/3/9/a-bad.json");
        var recovery = Recovery(source: source);

        var first = await recovery.RunOnceAsync("a", default);

        Assert.Equal(1, first.Failed);
        Assert.Equal("CALLVAULT/2026/3/3/9/b.json", Assert.Single(first.Blobs).Name);
        Assert.Equal(["d2"], (await ChunksAsync()).Select(c => c.Request.DocumentId));
        Assert.Equal(1, Counter("callvault.deadletter.blobs.failed"));

        await UploadAsync("CALLVAULT/2026/3/3/9/c.json", $"[{EventGridRecording("e3", "d3", 2)}]");
        var second = await recovery.RunOnceAsync("a", default);

        Assert.Equal(1, second.Failed);
        Assert.Equal(["CALLVAULT/2026/3/3/9/c.json", "CALLVAULT/2026/3/3/9/a-bad.json"], second.Blobs.Select(b => b.Name));
        var givenUp = second.Blobs[1];
        Assert.Equal(1, givenUp.EventsRejected);
        Assert.Contains("failed in 2 passes in a row (IOException)", givenUp.RejectedReason, StringComparison.Ordinal);
        Assert.DoesNotContain(ThrowingSource.Marker, givenUp.RejectedReason, StringComparison.Ordinal);
        var rejected = await _store.RejectedEvents.ListAsync(10, default);
        Assert.DoesNotContain(rejected, r => r.Reason.Contains(ThrowingSource.Marker, StringComparison.Ordinal));

        var third = await recovery.RunOnceAsync("a", default);

        Assert.Equal((0, 0), (third.Failed, third.Blobs.Count));
        Assert.Equal(2, source.FailedReads);
        Assert.Equal(2, Counter("callvault.deadletter.blobs.failed"));
    }

    /// <summary>
    /// The service survives what a pass throws (here the recovery cannot even be built): it reports a short category,
    /// never the exception's message (which may name an account or carry a URL), and tries again at the next poll.
    /// </summary>
    [Fact]
    public async Task Service_PassThatThrows_NeverStopsTheHost_AndReportsNoExceptionText()
    {
        var attempts = 0;
        var logger = new CollectingLogger<DeadLetterRecoveryService>();
        var provider = new LambdaServiceProvider(_ =>
        {
            Interlocked.Increment(ref attempts);
            throw new FormatException("bad settings near " + ThrowingSource.Marker);
        });
        using var service = new DeadLetterRecoveryService(provider, _store, new Monitor<DeadLetterRecoveryOptions>(_options), _clock, logger);

        await service.StartAsync(default);
        await WaitUntilAsync(() => Volatile.Read(ref attempts) == 1 && service.LastError is not null);
        _clock.Advance(_options.PollInterval);
        await WaitUntilAsync(() => Volatile.Read(ref attempts) == 2);

        Assert.False(service.ExecuteTask!.IsCompleted);
        Assert.Contains("FormatException", service.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("secretaccount", service.LastError, StringComparison.Ordinal);
        await service.StopAsync(default);
    }

    /// <summary>
    /// Against real storage (Azurite) refusing a wrong account key or a forged SAS: the pass fails, and neither the key
    /// nor the SAS signature appears in the service's state or in any log line (exceptions included).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Service_StorageRefusesTheCredential_SecretInNoAnswerAndNoLog(bool sas)
    {
        const string KeyMarker = "S0VZTUFSS0VSS0VZTUFSS0VS";
        const string SasMarker = "SASMARKERSASMARKER";
        var endpoint = new BlobServiceClient(TestServices.Azurite).Uri.ToString().TrimEnd('/');
        var settings = new DeadLetterRecoveryOptions
        {
            ContainerName = _container.Name,
            ConnectionString = sas
                ? $"BlobEndpoint={endpoint};SharedAccessSignature=sv=2024-08-04&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig={SasMarker}"
                : $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KeyMarker};BlobEndpoint={endpoint};",
        };
        Assert.True(new DeadLetterRecoveryOptionsValidator().Validate(null, settings).Succeeded);
        await UploadAsync("CALLVAULT/2026/3/3/9/a.json", $"[{EventGridRecording("e1", "d1", 0)}]");
        var recoveryLogger = new CollectingLogger<DeadLetterRecovery>();
        var recovery = Recovery(source: AzureDeadLetterSource.Create(settings), logger: recoveryLogger);
        var serviceLogger = new CollectingLogger<DeadLetterRecoveryService>();
        using var service = new DeadLetterRecoveryService(new LambdaServiceProvider(_ => recovery), _store, new Monitor<DeadLetterRecoveryOptions>(_options), _clock, serviceLogger);

        await service.StartAsync(default);
        await WaitUntilAsync(() => service.LastError is not null);
        await service.StopAsync(default);

        var everything = string.Join("\n", [service.LastError, .. serviceLogger.Lines, .. recoveryLogger.Lines]);
        Assert.NotEmpty(serviceLogger.Lines);
        Assert.DoesNotContain(KeyMarker, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(SasMarker, everything, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private sealed class LambdaServiceProvider(Func<Type, object?> resolve) : IServiceProvider
    {
        public object? GetService(Type serviceType) => resolve(serviceType);
    }

    /// <summary>Every log line with its exception (type, message and stack), as a sink would write it.</summary>
    private sealed class CollectingLogger<T> : Microsoft.Extensions.Logging.ILogger<T>
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception) + " " + exception);
            }
        }
    }

    /// <summary>A source whose read of one blob always throws, with a message that must not leave the log.</summary>
    private sealed class ThrowingSource(IDeadLetterSource inner, string failingBlob) : IDeadLetterSource
    {
        public const string Marker = "https://secretaccount.blob.core.windows.net/?sig=MARKER";

        public int FailedReads { get; private set; }

        public IAsyncEnumerable<DeadLetterBlobRef> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task<DeadLetterBlobRead> ReadAsync(DeadLetterBlobRef blob, long maxBytes, CancellationToken cancellationToken)
        {
            if (blob.Name == failingBlob)
            {
                FailedReads++;
                throw new IOException("read failed at " + Marker);
            }

            return inner.ReadAsync(blob, maxBytes, cancellationToken);
        }

        public Task DeleteAsync(DeadLetterBlobRef blob, CancellationToken cancellationToken) => inner.DeleteAsync(blob, cancellationToken);
    }

    /// <summary>A job store whose recovery role fails marking a blob done, as a crash right after the commit would leave it.</summary>
    private sealed class FailingMarkStore(IJobStore inner) : IJobStore
    {
        public IChunkQueue Queue => inner.Queue;

        public IChunkTransitions Transitions => inner.Transitions;

        public IDeadLetters DeadLetters => inner.DeadLetters;

        public IRecordingReadModel Recordings => inner.Recordings;

        public IJobStoreSchema Schema => inner.Schema;

        public IRejectedEventStore RejectedEvents => inner.RejectedEvents;

        public CallVault.Sessions.IRecordingSessionStore Sessions => inner.Sessions;

        public CallVault.Audit.IAccessAuditLog AccessAudit => inner.AccessAudit;

        public CallVault.Retention.IRetentionStore Retention => inner.Retention;

        public IDeadLetterRecoveryStore DeadLetterRecovery { get; } = new FailingMark(inner.DeadLetterRecovery);
    }

    private sealed class FailingMark(IDeadLetterRecoveryStore inner) : IDeadLetterRecoveryStore
    {
        public Task<bool> TryAcquireLeaseAsync(string owner, TimeSpan duration, CancellationToken cancellationToken) => inner.TryAcquireLeaseAsync(owner, duration, cancellationToken);

        public Task ReleaseLeaseAsync(string owner, CancellationToken cancellationToken) => inner.ReleaseLeaseAsync(owner, cancellationToken);

        public Task<IReadOnlySet<string>> FindDoneAsync(IReadOnlyList<DeadLetterBlobRef> blobs, CancellationToken cancellationToken) => inner.FindDoneAsync(blobs, cancellationToken);

        public Task<DeadLetterMarkResult> MarkChunksAsync(IReadOnlyList<DeadLetterChunkMark> chunks, CancellationToken cancellationToken) => inner.MarkChunksAsync(chunks, cancellationToken);

        public Task MarkBlobDoneAsync(DeadLetterBlobProgress progress, CancellationToken cancellationToken) => throw new IOException("killed before the blob was marked done");

        public Task<IReadOnlyList<DeadLetterBlobProgress>> ListBlobsAsync(int take, CancellationToken cancellationToken) => inner.ListBlobsAsync(take, cancellationToken);

        public Task<IReadOnlyList<DeadLetterChunkMark>> ListChunksAsync(DeadLetterChunkOutcome outcome, int take, CancellationToken cancellationToken) => inner.ListChunksAsync(outcome, take, cancellationToken);

        public Task<long> CountChunksAsync(DeadLetterChunkOutcome outcome, CancellationToken cancellationToken) => inner.CountChunksAsync(outcome, cancellationToken);
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
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}

using System.Diagnostics;
using System.Threading.Channels;
using CallVault.Diagnostics;

namespace CallVault.Jobs;

/// <summary>
/// Group commit for the webhook: deliveries that arrive while a commit is under way are merged into the next one, so
/// many deliveries share one transaction (and one fsync) instead of queueing for the database's write lock one by
/// one. Each caller's task completes only when the transaction holding its events has committed.
/// </summary>
/// <remarks>
/// <para>A merged commit that fails is retried one delivery at a time, so a delivery the database refuses fails alone
/// and the others sharing its commit still succeed.</para>
/// <para>The queue is bounded by events (<see cref="MaxQueuedEvents"/>, committing ones included): a delivery that
/// does not fit waits up to <see cref="QueueWait"/> for room and then fails with
/// <see cref="GroupCommitQueueFullException"/>, so a flood cannot grow memory without limit. A delivery larger than
/// the bound is let in when the queue is empty, so it cannot wait forever.</para>
/// </remarks>
public sealed class GroupCommitEnqueuer : IAsyncDisposable
{
    /// <summary>The most events merged into one transaction: 20,000.</summary>
    public const int MaxEventsPerCommit = 20_000;

    /// <summary>The default bound on queued events: 40,000 (two full commits; a few tens of MB at most).</summary>
    public const int DefaultMaxQueuedEvents = 40_000;

    /// <summary>The default wait for room in a full queue: 5 seconds, well inside Event Grid's 30-second timeout.</summary>
    public static readonly TimeSpan DefaultQueueWait = TimeSpan.FromSeconds(5);

    private readonly IChunkQueue _store;
    private readonly TimeProvider _timeProvider;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private readonly Task _writer;
    private int _queuedEvents;
    private TaskCompletionSource _roomMade = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts the writer with the default bound and wait.</summary>
    public GroupCommitEnqueuer(IChunkQueue store)
        : this(store, DefaultMaxQueuedEvents, DefaultQueueWait, TimeProvider.System)
    {
    }

    /// <summary>Starts the writer.</summary>
    /// <param name="store">Where deliveries are committed.</param>
    /// <param name="maxQueuedEvents">The most events waiting or being committed; at least 1.</param>
    /// <param name="queueWait">How long a delivery waits for room in a full queue before it is refused; zero or more.</param>
    /// <param name="timeProvider">The clock for <paramref name="queueWait"/>.</param>
    public GroupCommitEnqueuer(IChunkQueue store, int maxQueuedEvents, TimeSpan queueWait, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueuedEvents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueWait, TimeSpan.Zero);
        _store = store;
        MaxQueuedEvents = maxQueuedEvents;
        QueueWait = queueWait;
        _timeProvider = timeProvider;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The most events waiting or being committed.</summary>
    public int MaxQueuedEvents { get; }

    /// <summary>How long a delivery waits for room before <see cref="GroupCommitQueueFullException"/>.</summary>
    public TimeSpan QueueWait { get; }

    /// <summary>Events waiting or being committed now.</summary>
    public int QueuedEvents
    {
        get
        {
            lock (_gate)
            {
                return _queuedEvents;
            }
        }
    }

    /// <summary>Durably enqueues one delivery's events; completes after they are committed.</summary>
    /// <returns>How many chunks of this delivery were new, per event.</returns>
    /// <exception cref="GroupCommitQueueFullException">The queue stayed full for <see cref="QueueWait"/>; nothing was enqueued.</exception>
    public async Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return new EnqueueResult([], 0);
        }

        // The span covers the wait for room and for the commit, as the delivery experiences it; its traceparent goes
        // with every chunk, so the download (later, perhaps in another process) continues this trace.
        using var activity = StartEnqueueActivity();
        events = WithTraceParent(events, activity);
        await AdmitAsync(events.Count, cancellationToken).ConfigureAwait(false);
        var pending = new Pending(events, new TaskCompletionSource<EnqueueResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            MakeRoom(events.Count);
            throw new ObjectDisposedException(nameof(GroupCommitEnqueuer), "The group commit has stopped.");
        }

        // A caller that gives up still gets its events committed; that is harmless, a redelivery is a no-op.
        var result = await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        activity?.SetTag(CallVaultTelemetry.Attributes.NewChunks, result.NewChunks);
        return result;
    }

    /// <summary>
    /// Starts the enqueue span below the current (delivery) span, or on a trace of its own, linked to the delivery, when
    /// the delivery's span continues a trace from outside this process: a caller's <c>traceparent</c> (anyone can send
    /// one, even unauthenticated) must not pick the trace id or the sampled flag that every chunk then carries.
    /// </summary>
    private static Activity? StartEnqueueActivity()
    {
        var delivery = Activity.Current;
        if (delivery is null || delivery.Parent is not null || delivery.ParentSpanId == default)
        {
            return CallVaultTelemetry.Source.StartActivity(CallVaultTelemetry.Spans.Enqueue);
        }

        // A default parent context means "the current activity", so the current one is set aside to start a root. The
        // change stays inside this async method: the caller's Activity.Current is not affected.
        Activity.Current = null;
        return CallVaultTelemetry.Source.StartActivity(CallVaultTelemetry.Spans.Enqueue, ActivityKind.Internal, parentContext: default, links: [new ActivityLink(delivery.Context)]);
    }

    /// <summary>Stamps the span's traceparent on every chunk and tags the span with the delivery's ids (nothing when not traced).</summary>
    private static IReadOnlyList<EventChunks> WithTraceParent(IReadOnlyList<EventChunks> events, Activity? activity)
    {
        if (activity is null || CallVaultTelemetry.TraceParentOf(activity) is not { } traceParent)
        {
            return events;
        }

        var chunks = events.SelectMany(e => e.Chunks).ToList();
        activity.SetTag(CallVaultTelemetry.Attributes.Events, events.Count);
        activity.SetTag(CallVaultTelemetry.Attributes.Chunks, chunks.Count);
        if (chunks.Count == 1)
        {
            activity.WithChunk(chunks[0]);
        }
        else if (chunks.Count > 1 && chunks.All(c => c.Recording.Key == chunks[0].Recording.Key))
        {
            activity.SetTag(CallVaultTelemetry.Attributes.RecordingKey, chunks[0].Recording.Key);
            activity.SetTag(CallVaultTelemetry.Attributes.RecordingId, chunks[0].Recording.RecordingId);
            activity.SetTag(CallVaultTelemetry.Attributes.CallId, chunks[0].Recording.CallId);
        }

        return [.. events.Select(e => e with { Chunks = [.. e.Chunks.Select(c => c with { TraceParent = traceParent })] })];
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    /// <summary>Takes room for <paramref name="count"/> events, waiting up to <see cref="QueueWait"/> for it.</summary>
    private async Task AdmitAsync(int count, CancellationToken cancellationToken)
    {
        CancellationTokenSource? deadline = null;
        try
        {
            while (true)
            {
                Task roomMade;
                lock (_gate)
                {
                    if (_queuedEvents == 0 || _queuedEvents + count <= MaxQueuedEvents)
                    {
                        _queuedEvents += count;
                        return;
                    }

                    roomMade = _roomMade.Task;
                }

                deadline ??= new CancellationTokenSource(QueueWait, _timeProvider);
                try
                {
                    await roomMade.WaitAsync(deadline.Token).WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new GroupCommitQueueFullException(count, MaxQueuedEvents, QueueWait);
                }
            }
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    private void MakeRoom(int count)
    {
        TaskCompletionSource waiters;
        lock (_gate)
        {
            _queuedEvents -= count;
            waiters = _roomMade;
            _roomMade = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        waiters.TrySetResult();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var events = 0;
            while (events < MaxEventsPerCommit && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
                events += next.Events.Count;
            }

            try
            {
                await CommitAsync(batch).ConfigureAwait(false);
            }
            finally
            {
                MakeRoom(events);
            }
        }
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        try
        {
            CallVault.Diagnostics.CrashPoint.Hit("webhook.before-commit");
            var result = await _store.EnqueueAsync([.. batch.SelectMany(p => p.Events)], CancellationToken.None).ConfigureAwait(false);
            CallVault.Diagnostics.CrashPoint.Hit("webhook.commit");
            var offset = 0;
            foreach (var pending in batch)
            {
                var mine = result.NewChunksByEvent.Skip(offset).Take(pending.Events.Count).ToList();
                offset += pending.Events.Count;
                pending.Result.TrySetResult(new EnqueueResult(mine, 0));
            }
        }
        catch (Exception ex) when (batch.Count == 1)
        {
            batch[0].Result.TrySetException(ex);
        }
        catch (Exception)
        {
            // One delivery may hold what the database refuses; alone, each of the others commits. When the database
            // itself is down, every delivery fails again on its own, which is the right answer for each of them.
            foreach (var pending in batch)
            {
                try
                {
                    pending.Result.TrySetResult(await _store.EnqueueAsync(pending.Events, CancellationToken.None).ConfigureAwait(false));
                }
                catch (Exception ex)
                {
                    pending.Result.TrySetException(ex);
                }
            }
        }
    }

    private sealed record Pending(IReadOnlyList<EventChunks> Events, TaskCompletionSource<EnqueueResult> Result);
}

/// <summary>The group commit's queue stayed full for its whole wait: the delivery was not enqueued and should be retried later.</summary>
public sealed class GroupCommitQueueFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GroupCommitQueueFullException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public GroupCommitQueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public GroupCommitQueueFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a delivery of <paramref name="events"/> events.</summary>
    public GroupCommitQueueFullException(int events, int maxQueuedEvents, TimeSpan waited)
        : base($"The webhook's commit queue is full ({maxQueuedEvents} events); a delivery of {events} event(s) waited {waited.TotalSeconds:0.###} s for room.")
    {
    }
}

namespace CallVault.Acs.Downloads;

/// <summary>
/// Decides how many ranges run at once and in what order, and writes them in order into the hash and the
/// destination; fetching, checking and resuming each range is <see cref="RangeBody"/>'s job.
/// <para>
/// The bytes at the stored offset are always fetched by a <em>head</em>: a stream to the object's end that writes
/// straight into the destination, so one connection is a plain single stream with no part buffers. When more
/// connections are wanted (and the head's <c>206</c> said the size), the head is cut a part ahead of where it is and
/// the rest is fetched as parts into pooled buffers, written in order once everything before them is stored. When
/// the parts run out a new head takes the rest. At most <c>max</c> ranges (running or waiting to be written) exist at
/// once, so memory is bounded by <c>max × PartSizeBytes</c> whatever the object's size, and a part starts only when
/// <see cref="PartBufferPool"/> (shared by the client's downloads) has a buffer for it within its budget.
/// </para>
/// </summary>
internal sealed class PartScheduler
{
    /// <summary>
    /// How often the adaptive count looks at the rate: 100 ms, about two round trips of a 50 ms link, so that a step
    /// (one interval to settle, two to measure) takes 0.3 s. The controller is given the time that really passed,
    /// measured on the transport's <see cref="TimeProvider"/>, so a late timer does not read as a slow link.
    /// </summary>
    internal static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(100);

    private readonly RangeTransport _transport;
    private readonly DownloadState _state;
    private readonly int _max;
    private readonly ConnectionController? _controller;
    private readonly PartBufferPool _buffers;
    private readonly Lock _sampleLock = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _target;
    private long _sampledBytes;
    private int _sampledErrors;
    private long _sampledAt;
    private bool _unsplittable;

    /// <summary>Whether the last pass wanted another part and the shared budget had no buffer for it.</summary>
    private bool _budgetLimited;

    /// <param name="transport">The HTTP client, retries and clock.</param>
    /// <param name="state">The download.</param>
    /// <param name="max">The most connections: a fixed count when not <paramref name="adaptive"/>, else the cap.</param>
    /// <param name="adaptive">Whether the count starts at one and follows <see cref="ConnectionController"/>.</param>
    /// <param name="buffers">Where part buffers come from; a part that finds none within the budget is not started.</param>
    public PartScheduler(RangeTransport transport, DownloadState state, int max, bool adaptive, PartBufferPool buffers)
    {
        _buffers = buffers;
        _transport = transport;
        _state = state;
        _max = max;
        _controller = adaptive && max > 1 ? new ConnectionController(max) : null;
        _target = _controller?.Target ?? max;
    }

    /// <summary>The count the adaptive controller settled on, or the fixed count.</summary>
    public int FinalTarget => Volatile.Read(ref _target);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var slots = new Queue<Slot>();
        _sampledBytes = _state.BytesReceived;
        _sampledErrors = _state.Errors;
        _sampledAt = _transport.TimeProvider.GetTimestamp();
        using var sampler = _controller is null ? null : _transport.TimeProvider.CreateTimer(static s => ((PartScheduler)s!).Sample(), this, SampleInterval, SampleInterval);
        Slot? head = null;
        long next = 0;
        try
        {
            while (true)
            {
                var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _wake, wake);
                if (slots.Count == 0)
                {
                    if (_state.IsComplete)
                    {
                        return;
                    }

                    head = StartHead(stop.Token);
                    slots.Enqueue(head);
                    next = long.MaxValue;
                }

                // Parts only while two or more connections are wanted: at one (a fixed single stream, or an adaptive
                // count that settled back there) the rest is one open-ended head, started once the parts in flight
                // are written, instead of one request per part on a single connection. The buffer is taken before
                // the range, so a spent budget leaves the head uncut; it is tried again at the next wake.
                var wanted = Math.Min(Volatile.Read(ref _target), _max);
                var budgetLimited = false;
                while (wanted > 1 && CountRunning(slots) < wanted && slots.Count < _max && _state.Total is { } total)
                {
                    if (!_buffers.TryRent((int)_state.Options.PartSizeBytes, out var buffer))
                    {
                        budgetLimited = true;
                        break;
                    }

                    if (!TryAssignNext(head, ref next, total, out var range))
                    {
                        _buffers.Return(buffer);
                        break;
                    }

                    slots.Enqueue(StartPart(range, buffer, stop.Token));
                }

                Volatile.Write(ref _budgetLimited, budgetLimited);

                var oldest = slots.Peek();
                if (!oldest.Task.IsCompleted)
                {
                    await Task.WhenAny(oldest.Task, wake.Task).ConfigureAwait(false);
                    continue;
                }

                // Awaited while still queued: a failed or cancelled part's buffer is then returned with the others'
                // below. Dequeued only once it succeeded, when the write's finally takes over returning it.
                await oldest.Task.ConfigureAwait(false);
                slots.Dequeue();
                if (oldest.Body is { Splittable.Result: false })
                {
                    // The service did not say the size (or ignores ranges): later heads stream to the end unsplit.
                    _unsplittable = true;
                }

                if (oldest.Part is { } part)
                {
                    try
                    {
                        await _state.WriteAsync(part.Buffer.AsMemory(0, (int)part.Range.Length), cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        _buffers.Return(part.Buffer);
                    }
                }
            }
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var pending in slots)
            {
                try
                {
                    await pending.Task.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The first failure is the one reported; the others were cancelled by it.
                }

                if (pending.Part is { } part)
                {
                    _buffers.Return(part.Buffer);
                }
            }

            throw;
        }
    }

    /// <summary>
    /// The next range for another connection: the part after the last one assigned, or, when only the head runs and
    /// its answer allows splitting, a part after the point where the head is cut.
    /// </summary>
    private bool TryAssignNext(Slot? head, ref long next, long total, out ByteRange range)
    {
        range = default;
        var partSize = _state.Options.PartSizeBytes;
        if (next == long.MaxValue)
        {
            // Only the head runs, to the object's end: split it once its first answer said the size.
            if (head?.Body is not { Splittable: { IsCompletedSuccessfully: true, Result: true } } || head.Task.IsCompleted)
            {
                return false;
            }

            // Cut at the next part boundary counted from where the head started, so that parts line up as they would
            // have from the first request on.
            var sink = head.Sink!;
            next = Math.Min(total, sink.Limit ?? sink.Cut(sink.Start + (((sink.Position - sink.Start) / partSize) + 1) * partSize));
        }

        if (next >= total)
        {
            return false;
        }

        range = new ByteRange(next, Math.Min(next + partSize, total) - 1);
        next = range.Last + 1;
        return true;
    }

    private static int CountRunning(Queue<Slot> slots)
    {
        var running = 0;
        foreach (var slot in slots)
        {
            if (!slot.Task.IsCompleted)
            {
                running++;
            }
        }

        return running;
    }

    private Slot StartHead(CancellationToken cancellationToken)
    {
        var sink = new DestinationSink(_state, _state.Offset);
        if (_controller is null && _max > 1 && !_unsplittable)
        {
            // A fixed count splits from the start: the first request asks for one part, whose answer says the size.
            sink.Cut(sink.Start + _state.Options.PartSizeBytes);
        }

        var body = RangeBody.Stream(_transport, _state, sink, askRangeFromZero: _max > 1);

        // A head whose answer allows splitting wakes the scheduler, which may then add connections at once.
        _ = body.Splittable.ContinueWith(static (_, s) => ((PartScheduler)s!).Wake(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new Slot(RunHeadAsync(body, sink, cancellationToken), body, sink, Part: null);
    }

    private async Task RunHeadAsync(RangeBody body, DestinationSink sink, CancellationToken cancellationToken)
    {
        using var connection = _state.OpenConnection();
        using (sink)
        {
            await body.RunAsync(cancellationToken).ConfigureAwait(false);
        }

        Wake();
    }

    private Slot StartPart(ByteRange range, byte[] buffer, CancellationToken cancellationToken)
    {
        var sink = new PartSink(range, buffer);
        return new Slot(RunPartAsync(RangeBody.Part(_transport, _state, sink), cancellationToken), Body: null, Sink: null, sink);
    }

    private async Task RunPartAsync(RangeBody body, CancellationToken cancellationToken)
    {
        // Yield first so that starting a part never runs its network code on the scheduler's path.
        await Task.Yield();
        using var connection = _state.OpenConnection();
        await body.RunAsync(cancellationToken).ConfigureAwait(false);
        Wake();
    }

    private void Wake() => Volatile.Read(ref _wake).TrySetResult();

    /// <summary>Feeds the last interval's bytes and errors to the controller; a new target wakes the scheduler.</summary>
    private void Sample()
    {
        lock (_sampleLock)
        {
            var bytes = _state.BytesReceived;
            var errors = _state.Errors;
            var now = _transport.TimeProvider.GetTimestamp();
            var elapsed = _transport.TimeProvider.GetElapsedTime(_sampledAt, now);
            var budgetLimited = Volatile.Read(ref _budgetLimited);
            var target = _controller!.Observe(Math.Max(0, bytes - _sampledBytes), elapsed, Math.Max(0, errors - _sampledErrors), budgetLimited);
            _sampledBytes = bytes;
            _sampledErrors = errors;
            _sampledAt = now;

            // A budget-limited scheduler also tries again each interval: a buffer another download returned does not
            // wake it by itself.
            if (Interlocked.Exchange(ref _target, target) != target || budgetLimited)
            {
                Wake();
            }
        }
    }

    /// <summary>One range in flight or waiting to be written: the head (body and sink) or a part (its filled buffer).</summary>
    private sealed record Slot(Task Task, RangeBody? Body, DestinationSink? Sink, PartSink? Part);
}

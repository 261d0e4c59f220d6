using System.Threading.Channels;

namespace CallVault.Jobs;

/// <summary>
/// Group commit for the webhook: deliveries that arrive while a commit is under way are merged into the next one, so
/// many deliveries share one transaction (and one fsync) instead of queueing for the database's write lock one by
/// one. Each caller's task completes only when the transaction holding its events has committed.
/// </summary>
public sealed class GroupCommitEnqueuer : IAsyncDisposable
{
    /// <summary>The most events merged into one transaction: 20,000.</summary>
    public const int MaxEventsPerCommit = 20_000;

    private readonly IJobStore _store;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    /// <summary>Starts the writer.</summary>
    public GroupCommitEnqueuer(IJobStore store)
    {
        _store = store;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Durably enqueues one delivery's events; completes after they are committed.</summary>
    /// <returns>How many chunks of this delivery were new, per event.</returns>
    public async Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EventChunks> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return new EnqueueResult([], 0);
        }

        var pending = new Pending(events, new TaskCompletionSource<EnqueueResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);

        // A caller that gives up still gets its events committed; that is harmless, a redelivery is a no-op.
        return await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
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
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Result.TrySetException(ex);
                }
            }
        }
    }

    private sealed record Pending(IReadOnlyList<EventChunks> Events, TaskCompletionSource<EnqueueResult> Result);
}

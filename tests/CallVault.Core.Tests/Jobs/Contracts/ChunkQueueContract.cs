using System.Collections.Concurrent;
using CallVault.Jobs;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IChunkQueue"/> must do.</summary>
public abstract class ChunkQueueContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    [Fact]
    public async Task Enqueue_ThenLease_GivesTheOldestEventFirst()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("new", eventTime: Clock.GetUtcNow().AddMinutes(-1))], default);
        await Store.Queue.EnqueueAsync("e2", [Chunk("old", eventTime: Clock.GetUtcNow().AddHours(-5))], default);

        var first = await Store.Queue.TryLeaseAsync("w", Lease, default);
        var second = await Store.Queue.TryLeaseAsync("w", Lease, default);

        Assert.Equal(["old", "new"], [first!.DocumentId, second!.DocumentId]);
        Assert.Null(await Store.Queue.TryLeaseAsync("w", Lease, default));
    }

    [Fact]
    public async Task Enqueue_SameEventOrSameDocumentAgain_ChangesNothing()
    {
        var first = await Store.Queue.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var again = await Store.Queue.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var other = await Store.Queue.EnqueueAsync("e2", [Chunk("d2", index: 1)], default);

        Assert.Equal((2, 0), (first.NewChunks, first.DuplicateEvents));
        Assert.Equal((0, 1), (again.NewChunks, again.DuplicateEvents));
        Assert.Equal((0, 0), (other.NewChunks, other.DuplicateEvents));
        Assert.Equal(2, (await Store.Recordings.GetRecordingAsync("rec-1", default))!.Chunks.Count);
    }

    [Fact]
    public async Task Enqueue_PreviewThenGaEvent_FillsInTheLocations()
    {
        var preview = Chunk("d1") with { ContentLocation = null, MetadataLocation = null };
        await Store.Queue.EnqueueAsync("e1", [preview], default);

        await Store.Queue.EnqueueAsync("e2", [Chunk("d1")], default);

        var job = (await Store.Recordings.GetRecordingAsync("rec-1", default))!.Chunks.Single();
        Assert.Equal(Chunk("d1").ContentLocation, job.Request.ContentLocation);
    }

    /// <summary>The enqueuing span's traceparent comes back with the lease, so the download joins the delivery's trace.</summary>
    [Fact]
    public async Task Enqueue_WithTraceParent_LeaseCarriesIt()
    {
        const string traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        await Store.Queue.EnqueueAsync("e1", [Chunk("traced") with { TraceParent = traceParent }, Chunk("untraced", index: 1)], default);

        var first = await Store.Queue.TryLeaseAsync("w", Lease, default);
        var second = await Store.Queue.TryLeaseAsync("w", Lease, default);

        Assert.Equal(("traced", traceParent), (first!.DocumentId, first.Job.Request.TraceParent));
        Assert.Equal(("untraced", (string?)null), (second!.DocumentId, second.Job.Request.TraceParent));
    }

    [Fact]
    public async Task Enqueue_ABatchOfEvents_IsCommittedTogether()
    {
        var result = await Store.Queue.EnqueueAsync(
            [.. Enumerable.Range(0, 500).Select(i => new EventChunks($"e{i}", [Chunk($"d{i}", $"rec-{i % 7}")]))],
            default);

        Assert.Equal((500, 0), (result.NewChunks, result.DuplicateEvents));
        Assert.All(result.NewChunksByEvent, n => Assert.Equal(1, n));
        Assert.Equal(7, (await Store.Recordings.ListRecordingsAsync(new RecordingQuery { Take = 100 }, default)).Count);
        Assert.Equal(500, (await Store.Recordings.GetStatisticsAsync(default)).ByState[ChunkState.Pending]);
    }

    [Fact]
    public async Task Lease_IsHeldByOneOwnerUntilItExpires()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.Queue.TryLeaseAsync("a", Lease, default);

        Assert.Null(await Store.Queue.TryLeaseAsync("b", Lease, default));
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var taken = await Store.Queue.TryLeaseAsync("b", Lease, default);

        Assert.Equal("d1", taken!.DocumentId);
        Assert.Equal(2, taken.Job.Attempts);
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Transitions.CompleteAsync(lease!, default));
        await Assert.ThrowsAsync<LeaseLostException>(() => Store.Queue.RenewLeaseAsync(lease!, Lease, default));
        await Store.Transitions.CompleteAsync(taken, default);
    }

    [Fact]
    public async Task RenewLease_KeepsTheChunkFromOthers()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.Queue.TryLeaseAsync("a", Lease, default);

        Clock.Advance(Lease / 2);
        await Store.Queue.RenewLeaseAsync(lease!, Lease, default);
        Clock.Advance(Lease * 0.9);

        Assert.Null(await Store.Queue.TryLeaseAsync("b", Lease, default));
    }

    /// <summary>
    /// A lease says when it ends, as the store recorded it: its holder counts from that, not from a lease duration it
    /// reads again later (a configuration reload in between would make it believe in a lease the store does not hold).
    /// The lease that a completion takes says it too.
    /// </summary>
    [Fact]
    public async Task Lease_SaysWhenTheStoreLetsAnotherTakeIt()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1"), Chunk("d2", index: 1)], default);
        var leasedAt = Clock.GetUtcNow();
        var first = (await Store.Queue.TryLeaseAsync("a", Lease, default))!;
        Clock.Advance(TimeSpan.FromSeconds(7));
        var completedAt = Clock.GetUtcNow();
        var second = (await Store.Transitions.CompleteAndLeaseNextAsync(first, new ChunkProgress(), note: null, "a", Lease * 2, default))!;

        Assert.Equal(leasedAt + Lease, first.ExpiresAt);
        Assert.Equal(completedAt + (Lease * 2), second.ExpiresAt);
        Clock.Advance(second.ExpiresAt!.Value - Clock.GetUtcNow() - TimeSpan.FromMilliseconds(1));
        Assert.Null(await Store.Queue.TryLeaseAsync("b", Lease, default));
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("d2", (await Store.Queue.TryLeaseAsync("b", Lease, default))?.DocumentId);
    }

    /// <summary>Eight workers race for 60 chunks: each chunk is leased exactly once.</summary>
    [Fact]
    public async Task ConcurrentWorkers_NeverLeaseTheSameChunkTwice()
    {
        await Store.Queue.EnqueueAsync("e1", [.. Enumerable.Range(0, 60).Select(i => Chunk($"d{i}", index: i))], default);
        var leased = new ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            while (await Store.Queue.TryLeaseAsync($"w{w}", Lease, default) is { } lease)
            {
                leased.Add(lease.DocumentId);
                await Store.Transitions.CompleteAsync(lease, default);
            }
        })));

        Assert.Equal(60, leased.Count);
        Assert.Equal(60, leased.Distinct().Count());
    }

    /// <summary>Three instances, each with its own connections, race for 90 chunks: SKIP LOCKED gives each to one of them.</summary>
    [Fact]
    public async Task SeveralInstances_NeverLeaseTheSameChunkTwice()
    {
        await Store.Queue.EnqueueAsync([.. Enumerable.Range(0, 90).Select(i => new EventChunks($"e{i}", [Chunk($"d{i}", index: i)]))], default);
        var instances = new[] { Store, Backend.NewInstance(Clock), Backend.NewInstance(Clock) };
        var leased = new ConcurrentBag<string>();

        await Task.WhenAll(instances.SelectMany((store, s) => Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            while (await store.Queue.TryLeaseAsync($"i{s}w{w}", TimeSpan.FromMinutes(2), default) is { } lease)
            {
                leased.Add(lease.DocumentId);
                await store.Transitions.CompleteAsync(lease, default);
            }
        }))));

        Assert.Equal(90, leased.Count);
        Assert.Equal(90, leased.Distinct().Count());
    }

    /// <summary>Three instances enqueue the same overlapping documents at once, many rounds: every commit succeeds and each chunk exists once.</summary>
    [Fact]
    public async Task SeveralInstances_EnqueuingTheSameDocumentsAtOnce_AllSucceed()
    {
        var instances = new[] { Store, Backend.NewInstance(Clock), Backend.NewInstance(Clock), Backend.NewInstance(Clock) };
        for (var round = 0; round < 25; round++)
        {
            var r = round;
            await Task.WhenAll(instances.Select((store, s) => Task.Run(async () =>
            {
                // Each instance sends the same documents in its own order, as redeliveries to different instances do.
                var ids = Enumerable.Range(0, 6).Select(i => $"r{r}-d{i}").ToList();
                if (s % 2 == 1)
                {
                    ids.Reverse();
                }

                await store.Queue.EnqueueAsync([.. ids.Select(id => new EventChunks($"e-{s}-{id}", [Chunk(id, $"rec-{r}-{id[^1] % 2}", index: id[^1] - '0')]))], default);
            })));
        }

        var statistics = await Store.Recordings.GetStatisticsAsync(default);
        Assert.Equal(25 * 6, statistics.ByState[ChunkState.Pending]);
    }
}

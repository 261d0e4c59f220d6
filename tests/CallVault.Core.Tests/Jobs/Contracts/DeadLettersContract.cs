using CallVault.Jobs;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IDeadLetters"/> must do.</summary>
public abstract class DeadLettersContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    [Fact]
    public async Task Fail_WithoutRetry_DeadLettersUntilRetriedByHand()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var lease = await Store.Queue.TryLeaseAsync("a", Lease, default);

        await Store.Transitions.FailAsync(lease!, "404: gone", retryAt: null, default);

        Clock.Advance(TimeSpan.FromDays(1));
        Assert.Null(await Store.Queue.TryLeaseAsync("a", Lease, default));
        var details = await Store.Recordings.GetRecordingAsync("rec-1", default);
        Assert.Equal((ChunkState.DeadLettered, "404: gone", "failed"), (details!.Chunks[0].State, details.Chunks[0].LastError, details.Summary.Status));
        var deadLetters = await Store.DeadLetters.ListAsync(10, default);
        Assert.Equal(("d1", "404: gone"), (Assert.Single(deadLetters).Request.DocumentId, deadLetters[0].LastError));
        Assert.True(await Store.DeadLetters.RetryAsync("d1", default));
        Assert.False(await Store.DeadLetters.RetryAsync("d1", default));
        Assert.Equal("d1", (await Store.Queue.TryLeaseAsync("a", Lease, default))!.DocumentId);
    }
}

using CallVault.Jobs;
using CallVault.Retention;

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
        Assert.Equal(DeadLetterRetryOutcome.Retried, await Store.DeadLetters.RetryAsync("d1", default));
        Assert.Equal(DeadLetterRetryOutcome.NotFound, await Store.DeadLetters.RetryAsync("d1", default));
        Assert.Equal("d1", (await Store.Queue.TryLeaseAsync("a", Lease, default))!.DocumentId);
    }

    /// <summary>
    /// A chunk refused because its recording was deleted (or is being deleted) is not made due by a retry: it would be
    /// stored beside the tombstone, where retention never looks again, and keep what was deleted.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Retry_OfAChunkWhoseRecordingWasDeleted_IsRefusedAndStaysDeadLettered(bool deletionFinished)
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        var stored = (await Store.Queue.TryLeaseAsync("w", Lease, default))!;
        await Store.Transitions.RecordProgressAsync(
            stored,
            new ChunkProgress
            {
                Media = new StoredObjectInfo("2026/03/03/call-rec-1/rec-1/chunk-000.wav", 1000, new string('a', 64), "audio/wav"),
                Metadata = new StoredObjectInfo("2026/03/03/call-rec-1/rec-1/chunk-000.metadata.json", 10, new string('b', 64), "application/json"),
            },
            default);
        await Store.Transitions.CompleteAsync(stored, default);
        Assert.Equal(DeletionOutcome.Started, (await Store.Retention.BeginDeletionAsync("rec-1", "manual:ops", null, default)).Outcome);
        if (deletionFinished)
        {
            await Store.Retention.CompleteDeletionAsync("rec-1", default);
            await Store.Retention.FinishDeletionAsync("rec-1", default);
        }

        await Store.Queue.EnqueueAsync("e2", [Chunk("d-late", index: 1)], default);
        var late = (await Store.Queue.TryLeaseAsync("w", Lease, default))!;
        Assert.Equal("d-late", late.DocumentId);
        await Store.Transitions.FailAsync(late, "refused: recording deleted", retryAt: null, default);

        Assert.Equal(DeadLetterRetryOutcome.RecordingDeleted, await Store.DeadLetters.RetryAsync("d-late", default));

        Assert.Equal("d-late", Assert.Single(await Store.DeadLetters.ListAsync(10, default)).Request.DocumentId);
        Assert.Null(await Store.Queue.TryLeaseAsync("w", Lease, default));
    }
}

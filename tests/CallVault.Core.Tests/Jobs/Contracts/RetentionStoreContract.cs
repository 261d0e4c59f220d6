using CallVault.Jobs;
using CallVault.Retention;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IRetentionStore"/> must do.</summary>
public abstract class RetentionStoreContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    private static readonly TimeSpan SweepLease = TimeSpan.FromMinutes(5);

    private IRetentionStore Retention => Store.Retention;

    /// <summary>Stores a recording's chunks (media and metadata recorded with their SHA-256), one after another, now.</summary>
    protected async Task StoreRecordingAsync(string recording, int chunks = 2)
    {
        for (var i = 0; i < chunks; i++)
        {
            await Store.Queue.EnqueueAsync($"e-{recording}-{i}", [Chunk($"{recording}-d{i}", recording, i)], default);
            var lease = (await Store.Queue.TryLeaseAsync("w", Lease, default))!;
            await Store.Transitions.RecordProgressAsync(
                lease,
                new ChunkProgress
                {
                    Media = new StoredObjectInfo($"2026/03/03/call-{recording}/{recording}/chunk-00{i}.wav", 1000 + i, new string('a', 63) + i, "audio/wav"),
                    Metadata = new StoredObjectInfo($"2026/03/03/call-{recording}/{recording}/chunk-00{i}.metadata.json", 10 + i, new string('b', 63) + i, "application/json"),
                },
                default);
            await Store.Transitions.CompleteAsync(lease, default);
        }
    }

    /// <summary>The newest activity is null on an empty database, then the latest chunk stored or event received.</summary>
    [Fact]
    public async Task NewestActivity_IsTheLatestStoredOrReceivedTime()
    {
        Assert.Null(await Retention.GetNewestActivityAsync(default));
        await StoreRecordingAsync("rec-1", chunks: 1);
        var stored = Clock.GetUtcNow();
        Assert.Equal(stored, await Retention.GetNewestActivityAsync(default));

        Clock.Advance(TimeSpan.FromHours(5));
        await Store.Queue.EnqueueAsync("e-later", [Chunk("rec-2-d0", "rec-2", 0)], default);
        Assert.Equal(Clock.GetUtcNow(), await Retention.GetNewestActivityAsync(default));
    }

    /// <summary>A tombstoned recording is not due again, and cannot be deleted again, whatever rows are beside it.</summary>
    [Fact]
    public async Task RowsBesideATombstone_AreNotDue_NorDeletedAgain()
    {
        await StoreRecordingAsync("rec-1", chunks: 1);
        await Retention.BeginDeletionAsync("rec-1", "manual:a", null, default);
        await Retention.CompleteDeletionAsync("rec-1", default);
        await Retention.FinishDeletionAsync("rec-1", default);
        await StoreRecordingAsync("rec-1", chunks: 1);
        Clock.Advance(TimeSpan.FromDays(1));

        Assert.Empty(await Retention.ListDueAsync(Clock.GetUtcNow(), 10, default));
        Assert.Equal(DeletionOutcome.AlreadyDeleted, (await Retention.BeginDeletionAsync("rec-1", "manual:a", null, default)).Outcome);
    }

    [Fact]
    public async Task SetHold_ThenClear_KeepsTheHoldInTheHistory()
    {
        await StoreRecordingAsync("rec-1");

        var set = await Retention.SetHoldAsync("rec-1", "litigation 2026-114", "legal", default);
        Assert.Equal(HoldOutcome.Set, set.Outcome);
        Assert.Equal(("litigation 2026-114", "legal", Clock.GetUtcNow()), (set.Hold!.Reason, set.Hold.SetBy, set.Hold.SetAt));
        Assert.Equal(1, await Retention.CountActiveHoldsAsync(default));
        Assert.Equal("legal", (await Retention.GetHoldAsync("rec-1", default))!.SetBy);

        Clock.Advance(TimeSpan.FromDays(3));
        var cleared = await Retention.ClearHoldAsync("rec-1", "counsel", default);

        Assert.Equal(("counsel", Clock.GetUtcNow()), (cleared!.ClearedBy, cleared.ClearedAt));
        Assert.Null(await Retention.GetHoldAsync("rec-1", default));
        Assert.Empty(await Retention.ListHoldsAsync(includeCleared: false, 10, default));
        var history = Assert.Single(await Retention.ListHoldsAsync(includeCleared: true, 10, default));
        Assert.Equal(("litigation 2026-114", "legal", "counsel"), (history.Reason, history.SetBy, history.ClearedBy));
        Assert.Null(await Retention.ClearHoldAsync("rec-1", "counsel", default));
        Assert.Equal(0, await Retention.CountActiveHoldsAsync(default));
    }

    /// <summary>One active hold per recording: setting it again returns the first, unchanged; an unknown recording cannot be held.</summary>
    [Fact]
    public async Task SetHold_Twice_KeepsTheFirst_UnknownRecording_IsNotFound()
    {
        await StoreRecordingAsync("rec-1");
        await Retention.SetHoldAsync("rec-1", "first", "a", default);

        var again = await Retention.SetHoldAsync("rec-1", "second", "b", default);

        Assert.Equal((HoldOutcome.AlreadyHeld, "first", "a"), (again.Outcome, again.Hold!.Reason, again.Hold.SetBy));
        Assert.Equal(HoldOutcome.NotFound, (await Retention.SetHoldAsync("no-such", "x", "a", default)).Outcome);
        Assert.Equal(1, await Retention.CountActiveHoldsAsync(default));
    }

    [Fact]
    public async Task BeginDeletion_Held_IsRefusedWithTheHold_ClearedIsStarted()
    {
        await StoreRecordingAsync("rec-1");
        await Retention.SetHoldAsync("rec-1", "audit", "legal", default);

        var refused = await Retention.BeginDeletionAsync("rec-1", "manual:ops", null, default);
        Assert.Equal((DeletionOutcome.Held, "audit"), (refused.Outcome, refused.Hold!.Reason));
        Assert.Empty(await Retention.ListUnfinishedDeletionsAsync(10, default));

        await Retention.ClearHoldAsync("rec-1", "legal", default);
        var started = await Retention.BeginDeletionAsync("rec-1", "manual:ops", null, default);
        Assert.Equal((DeletionOutcome.Started, "manual:ops", "2026/03/03/call-rec-1/rec-1"), (started.Outcome, started.Deletion!.Rule, started.Deletion.Folder));
    }

    /// <summary>Nothing is deleted that was never verified stored: a recording with a pending chunk, or stored without files, is refused.</summary>
    [Fact]
    public async Task BeginDeletion_NotWhollyStoredAndVerified_IsRefused()
    {
        await StoreRecordingAsync("rec-1", chunks: 1);
        await Store.Queue.EnqueueAsync("e-late", [Chunk("rec-1-d9", "rec-1", 9)], default);
        await Store.Queue.EnqueueAsync("e-2", [Chunk("rec-2-d0", "rec-2", 0)], default);
        await Store.Transitions.CompleteAsync((await Store.Queue.TryLeaseAsync("w", Lease, default))!, default);

        Assert.Equal(DeletionOutcome.NotVerified, (await Retention.BeginDeletionAsync("rec-1", "manual:ops", null, default)).Outcome);
        Assert.Equal(DeletionOutcome.NotVerified, (await Retention.BeginDeletionAsync("rec-2", "manual:ops", null, default)).Outcome);
        Assert.Equal(DeletionOutcome.NotFound, (await Retention.BeginDeletionAsync("no-such", "manual:ops", null, default)).Outcome);
        Assert.Empty(await Retention.ListDueAsync(Clock.GetUtcNow().AddDays(1), 10, default));
    }

    /// <summary>The tombstone keeps each file's size and SHA-256; the rows go; completing again writes nothing twice.</summary>
    [Fact]
    public async Task CompleteDeletion_WritesOneTombstoneAndRemovesTheRows()
    {
        await StoreRecordingAsync("rec-1");
        await StoreRecordingAsync("rec-2");
        Assert.Equal(DeletionOutcome.Started, (await Retention.BeginDeletionAsync("rec-1", "retention:KeepDays=30", null, default)).Outcome);

        Clock.Advance(TimeSpan.FromMinutes(1));
        var (tombstone, written) = await Retention.CompleteDeletionAsync("rec-1", default);
        var (again, writtenAgain) = await Retention.CompleteDeletionAsync("rec-1", default);
        await Retention.FinishDeletionAsync("rec-1", default);

        Assert.True(written);
        Assert.False(writtenAgain);
        Assert.Equal(tombstone.DeletedAt, again.DeletedAt);
        Assert.Equal(("rec-1", "call-rec-1", "retention:KeepDays=30", Clock.GetUtcNow(), 2001L), (tombstone.RecordingId, tombstone.CallId, tombstone.Rule, tombstone.DeletedAt, tombstone.MediaBytes));
        Assert.Equal(
            [("rec-1-d0", 1000L, new string('a', 63) + "0", 10L, new string('b', 63) + "0"), ("rec-1-d1", 1001L, new string('a', 63) + "1", 11L, new string('b', 63) + "1")],
            tombstone.Chunks.Select(c => (c.DocumentId, c.MediaLength!.Value, c.MediaSha256!, c.MetadataLength!.Value, c.MetadataSha256!)));
        Assert.Null(await Store.Recordings.GetRecordingAsync("rec-1", default));
        Assert.NotNull(await Store.Recordings.GetRecordingAsync("rec-2", default));
        Assert.Equal("rec-1", Assert.Single(await Retention.ListTombstonesAsync(10, default)).RecordingKey);
        Assert.Equal(2, (await Retention.GetTombstoneAsync("rec-1", default))!.Chunks.Count);
        Assert.Empty(await Retention.ListUnfinishedDeletionsAsync(10, default));
        Assert.Equal(DeletionOutcome.AlreadyDeleted, (await Retention.BeginDeletionAsync("rec-1", "manual:ops", null, default)).Outcome);
        Assert.Equal(HoldOutcome.Deleting, (await Retention.SetHoldAsync("rec-1", "too late", "legal", default)).Outcome);
    }

    /// <summary>A mark outlives a crash: beginning again resumes under the first rule, and a hold can no longer be set.</summary>
    [Fact]
    public async Task BeginDeletion_AlreadyMarked_ResumesAndRefusesAHold()
    {
        await StoreRecordingAsync("rec-1");
        await Retention.BeginDeletionAsync("rec-1", "retention:KeepDays=30", null, default);

        var other = Backend.NewInstance(Clock).Retention;
        var resumed = await other.BeginDeletionAsync("rec-1", "manual:ops", null, default);

        Assert.Equal((DeletionOutcome.Resumed, "retention:KeepDays=30"), (resumed.Outcome, resumed.Deletion!.Rule));
        Assert.Equal("rec-1", Assert.Single(await other.ListUnfinishedDeletionsAsync(10, default)).RecordingKey);
        Assert.Equal(HoldOutcome.Deleting, (await other.SetHoldAsync("rec-1", "late", "legal", default)).Outcome);
        Assert.Empty(await other.ListDueAsync(Clock.GetUtcNow().AddDays(1), 10, default));
    }

    /// <summary>Due: every chunk stored and verified before the cut-off, not held, not being deleted; oldest first.</summary>
    [Fact]
    public async Task ListDue_OnlyWhollyStoredBeforeTheCutoff_NotHeld()
    {
        await StoreRecordingAsync("old-1");
        await StoreRecordingAsync("old-held");
        Clock.Advance(TimeSpan.FromDays(1));
        await StoreRecordingAsync("old-2");
        var cutoff = Clock.GetUtcNow() + TimeSpan.FromMilliseconds(1);
        Clock.Advance(TimeSpan.FromDays(1));
        await StoreRecordingAsync("young");
        await Retention.SetHoldAsync("old-held", "case", "legal", default);

        Assert.Equal(["old-1", "old-2"], await Retention.ListDueAsync(cutoff, 10, default));
        Assert.Equal(["old-1"], await Retention.ListDueAsync(cutoff, 1, default));
        Assert.Equal(DeletionOutcome.NotDue, (await Retention.BeginDeletionAsync("young", "retention:KeepDays=1", cutoff, default)).Outcome);
    }

    /// <summary>
    /// A hold and a deletion of the same recording racing on two instances: exactly one of them wins, never both (a hold
    /// set while the deletion goes ahead would be ignored).
    /// </summary>
    [Fact]
    public async Task SetHoldAndBeginDeletion_Racing_OnlyOneSucceeds()
    {
        for (var i = 0; i < 10; i++)
        {
            await StoreRecordingAsync($"race-{i}", chunks: 1);
        }

        var other = Backend.NewInstance(Clock).Retention;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            var hold = Retention.SetHoldAsync($"race-{i}", "case", "legal", default);
            var deletion = other.BeginDeletionAsync($"race-{i}", "manual:ops", null, default);
            return ((await hold).Outcome, (await deletion).Outcome);
        }));

        Assert.All(outcomes, o => Assert.True(
            o is (HoldOutcome.Set, DeletionOutcome.Held) or (HoldOutcome.Deleting, DeletionOutcome.Started),
            $"hold {o.Item1}, deletion {o.Item2}"));
    }

    /// <summary>Two instances competing for the sweep lease: one wins, the other waits until it expires or is released.</summary>
    [Fact]
    public async Task TryAcquireLease_TwoInstances_OnlyOneHoldsItUntilExpiry()
    {
        var other = Backend.NewInstance(Clock).Retention;

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => (i % 2 == 0 ? Retention : other).TryAcquireLeaseAsync($"instance-{i}", SweepLease, default)));

        Assert.Single(results, r => r);
        var winner = $"instance-{Array.IndexOf(results, true)}";
        Assert.True(await Retention.TryAcquireLeaseAsync(winner, SweepLease, default));
        Clock.Advance(SweepLease - TimeSpan.FromSeconds(1));
        Assert.False(await other.TryAcquireLeaseAsync("late", SweepLease, default));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await other.TryAcquireLeaseAsync("late", SweepLease, default));
        await other.ReleaseLeaseAsync("late", default);
        Assert.True(await Retention.TryAcquireLeaseAsync(winner, SweepLease, default));
    }
}

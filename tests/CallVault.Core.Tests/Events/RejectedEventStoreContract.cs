using CallVault.Events;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Core.Tests.Events;

/// <summary>What every <see cref="IRejectedEventStore"/> must do. One subclass per backend overrides only <see cref="CreateStoreAsync"/>.</summary>
public abstract class RejectedEventStoreContract : IAsyncLifetime
{
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero));

    protected IRejectedEventStore Store { get; private set; } = null!;

    /// <summary>A new, empty store (its schema created) using <paramref name="clock"/>.</summary>
    protected abstract Task<IRejectedEventStore> CreateStoreAsync(TimeProvider clock);

    public virtual async Task InitializeAsync() => Store = await CreateStoreAsync(Clock);

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static RejectedEvent Bad(string id, string reason = "The event's data is not readable.", string? delivery = "delivery-1") =>
        new(id, "Microsoft.Communication.RecordingFileStatusUpdated", reason, $$$"""{"id":"{{{id}}}","data":{"index":"x"}}""", delivery);

    [Fact]
    public async Task Record_ThenList_GivesEverythingNewestFirst()
    {
        await Store.RecordAsync([Bad("old")], default);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Store.RecordAsync([Bad("new", "Another reason.", "delivery-2")], default);

        var listed = await Store.ListAsync(10, default);

        Assert.Equal(["new", "old"], listed.Select(r => r.EventId));
        var newest = listed[0];
        Assert.Equal("Microsoft.Communication.RecordingFileStatusUpdated", newest.EventType);
        Assert.Equal("Another reason.", newest.Reason);
        Assert.Equal("""{"id":"new","data":{"index":"x"}}""", newest.RawJson);
        Assert.False(newest.RawTruncated);
        Assert.Equal("delivery-2", newest.DeliveryId);
        Assert.Equal(Clock.GetUtcNow(), newest.FirstSeenAt);
        Assert.Equal(1, newest.Occurrences);
        Assert.Equal(2, await Store.CountAsync(default));
        Assert.Equal(["new"], (await Store.ListAsync(1, default)).Select(r => r.EventId));
    }

    /// <summary>Event Grid delivers at least once: a redelivered bad event stays one record, counted.</summary>
    [Fact]
    public async Task Record_SameEventAgain_IsOneRecordSeenTwice()
    {
        var first = Clock.GetUtcNow();
        await Store.RecordAsync([Bad("e1")], default);
        Clock.Advance(TimeSpan.FromMinutes(5));
        await Store.RecordAsync([Bad("e1", delivery: "delivery-2")], default);

        var record = Assert.Single(await Store.ListAsync(10, default));

        Assert.Equal(2, record.Occurrences);
        Assert.Equal(first, record.FirstSeenAt);
        Assert.Equal(Clock.GetUtcNow(), record.LastSeenAt);
        Assert.Equal("delivery-2", record.DeliveryId);
        Assert.Equal(1, await Store.CountAsync(default));
    }

    /// <summary>
    /// What made the event unusable must not make recording it fail too: NUL (which PostgreSQL refuses in text), an
    /// unpaired surrogate and an id far longer than an index entry are cleaned and cut, and the raw event is capped.
    /// </summary>
    [Fact]
    public async Task Record_TextTheDatabaseCannotHold_IsCleanedAndCut()
    {
        var longId = new string('7', 10_000);
        var hugeRaw = "[" + new string('x', 200_000) + "]";

        await Store.RecordAsync(
        [
            new RejectedEvent("nul\0id", "type\0", "reason with \0 and \ud800 in it", "{\"id\":\"nul\\u0000id\"}\0"),
            new RejectedEvent(longId, null, "An id too long for an index.", hugeRaw, new string('d', 5_000)),
        ], default);

        var listed = await Store.ListAsync(10, default);
        var nul = Assert.Single(listed, r => r.EventId!.StartsWith("nul", StringComparison.Ordinal));
        Assert.Equal("nul\uFFFDid", nul.EventId);
        Assert.Equal("type\uFFFD", nul.EventType);
        Assert.Equal("reason with \uFFFD and \uFFFD in it", nul.Reason);
        Assert.Equal("{\"id\":\"nul\\u0000id\"}\uFFFD", nul.RawJson);
        var huge = Assert.Single(listed, r => r.EventId!.StartsWith('7'));
        Assert.Equal(RejectedEventLimits.MaxIdLength, huge.EventId!.Length);
        Assert.Equal(RejectedEventLimits.MaxRawJsonLength, huge.RawJson.Length);
        Assert.Equal(hugeRaw.Length, huge.RawLength);
        Assert.True(huge.RawTruncated);
        Assert.Equal(RejectedEventLimits.MaxIdLength, huge.DeliveryId!.Length);
    }

    /// <summary>Deliveries holding the same refusals in different orders, all at once: none fails (no deadlock, no unique violation).</summary>
    [Fact]
    public async Task Record_SameEventsConcurrently_NeverFails()
    {
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => Store.RecordAsync(
            i % 2 == 0 ? [Bad("a"), Bad("b")] : [Bad("b"), Bad("a")], default))));

        var listed = await Store.ListAsync(10, default);

        Assert.Equal(2, listed.Count);
        Assert.All(listed, r => Assert.Equal(8, r.Occurrences));
    }

    [Fact]
    public async Task Record_Nothing_IsANoOp()
    {
        await Store.RecordAsync([], default);

        Assert.Equal(0, await Store.CountAsync(default));
        Assert.Empty(await Store.ListAsync(10, default));
    }
}

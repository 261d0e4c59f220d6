using CallVault.Emulator.Faults;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Emulator.Tests.Faults;

/// <summary>The token bucket every connection draws from when the link has a total cap: on a fake clock, what it grants
/// over a window never exceeds the rate times the window plus one burst, however many connections ask.</summary>
public sealed class SharedBandwidthTests
{
    private const long Rate = 1_000_000;
    private const int Block = 64 * 1024;

    [Fact]
    public void FirstBurst_IsFree_ThenEachBlockWaitsForItsShare()
    {
        var clock = new FakeTimeProvider();
        var bucket = new SharedBandwidth(Rate, clock);

        Assert.Equal(TimeSpan.Zero, bucket.Take(bucket.BurstBytes));
        Assert.Equal(TimeSpan.FromSeconds((double)Block / Rate), bucket.Take(Block));
    }

    [Fact]
    public void ManyConnectionsAtOnce_QueueBehindEachOther()
    {
        var clock = new FakeTimeProvider();
        var bucket = new SharedBandwidth(Rate, clock);
        bucket.Take(bucket.BurstBytes);

        // Eight connections each asking for a block at the same instant: the last waits for all eight blocks.
        var waits = Enumerable.Range(0, 8).Select(_ => bucket.Take(Block)).ToList();

        Assert.Equal(TimeSpan.FromSeconds(8.0 * Block / Rate), waits[^1]);
        Assert.True(waits.SequenceEqual(waits.Order()), "later requests never wait less than earlier ones");
    }

    [Fact]
    public void OverAWindow_GrantsAtMostTheRatePlusOneBurst()
    {
        var clock = new FakeTimeProvider();
        var bucket = new SharedBandwidth(Rate, clock);
        var start = clock.GetUtcNow();

        // Four connections, each sending its next block as soon as it may, for five seconds of fake time.
        var nextSend = Enumerable.Repeat(start, 4).ToArray();
        var sentBy = new List<(DateTimeOffset At, long Bytes)>();
        while (clock.GetUtcNow() - start < TimeSpan.FromSeconds(5))
        {
            var connection = Array.IndexOf(nextSend, nextSend.Min());
            var due = nextSend[connection];
            if (due > clock.GetUtcNow())
            {
                clock.SetUtcNow(due);
            }

            var wait = bucket.Take(Block);
            nextSend[connection] = clock.GetUtcNow() + wait;
            sentBy.Add((nextSend[connection], Block));
        }

        foreach (var windowEnd in new[] { 0.5, 1, 2, 4 }.Select(s => start + TimeSpan.FromSeconds(s)))
        {
            var granted = sentBy.Where(s => s.At <= windowEnd).Sum(s => s.Bytes);
            var allowed = Rate * (windowEnd - start).TotalSeconds + bucket.BurstBytes;
            Assert.True(granted <= allowed, $"{granted} bytes sent by {windowEnd - start}, allowed {allowed}");
            Assert.True(granted >= allowed - 2 * Block, $"only {granted} bytes sent by {windowEnd - start}: the cap is not reached");
        }
    }

    [Fact]
    public void AnIdleLink_SavesUpNoMoreThanOneBurst()
    {
        var clock = new FakeTimeProvider();
        var bucket = new SharedBandwidth(Rate, clock);
        bucket.Take(bucket.BurstBytes);

        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.Zero, bucket.Take(bucket.BurstBytes));
        Assert.Equal(TimeSpan.FromSeconds((double)Block / Rate), bucket.Take(Block));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void ARateThatIsNotPositive_IsRefused(long rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedBandwidth(rate, new FakeTimeProvider()));
}

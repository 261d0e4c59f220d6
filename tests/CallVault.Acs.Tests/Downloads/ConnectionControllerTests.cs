using CallVault.Acs.Downloads;

namespace CallVault.Acs.Tests.Downloads;

/// <summary>The connection count decision, fed made-up interval samples: no clock, no network.</summary>
public sealed class ConnectionControllerTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Feeds intervals from a link where each connection carries <paramref name="perConnectionPerSecond"/> bytes a
    /// second, up to <paramref name="linkTotalPerSecond"/> in all, and returns how many intervals passed before the
    /// count stopped changing for good.
    /// </summary>
    private static int Run(ConnectionController controller, long perConnectionPerSecond, long linkTotalPerSecond, int intervals)
    {
        var lastChange = 0;
        for (var i = 0; i < intervals; i++)
        {
            var before = controller.Target;
            var perSecond = Math.Min(linkTotalPerSecond, perConnectionPerSecond * controller.Target);
            controller.Observe((long)(perSecond * Interval.TotalSeconds), Interval, errors: 0);
            if (controller.Target != before)
            {
                lastChange = i + 1;
            }
        }

        return lastChange;
    }

    /// <summary>Each connection is capped and the link is not: connections are added up to the maximum.</summary>
    [Fact]
    public void Observe_PerConnectionCappedLink_GrowsToTheMaximum()
    {
        var controller = new ConnectionController(max: 8);

        Run(controller, perConnectionPerSecond: 20_000_000, linkTotalPerSecond: long.MaxValue, intervals: 60);

        Assert.Equal(8, controller.Target);
        Assert.Equal(8, controller.Peak);
    }

    /// <summary>
    /// After the first probe the count doubles while each step scales the rate nearly linearly: 50 MB/s per connection
    /// probes 4 (the count that would carry 200 MB/s), then 8, then the cap of 16.
    /// </summary>
    [Fact]
    public void Observe_PerConnectionCappedLink_DoublesAfterTheFirstProbe()
    {
        var controller = new ConnectionController(max: 16);
        var counts = new List<int>();
        for (var i = 0; i < 30; i++)
        {
            controller.Observe(5_000_000L * controller.Target, Interval, errors: 0);
            if (counts.Count == 0 || counts[^1] != controller.Target)
            {
                counts.Add(controller.Target);
            }
        }

        Assert.Equal([1, 4, 8, 16], counts);
    }

    /// <summary>
    /// Parts pay a round trip each that the single stream does not: on a 20 MB/s, 50 ms link a 4 MiB part delivers about
    /// 80 % of a stream's rate, so ten parts bring 8 times the single stream, not 10. That still scales with the count
    /// and must keep growing to the cap (with 75 % of the ideal required, doubling from one stopped at 2 there: 1.44x
    /// curl in the bench).
    /// </summary>
    [Fact]
    public void Observe_PartsSlowerThanTheSingleStream_StillGrowsToTheCap()
    {
        var controller = new ConnectionController(max: 16);
        var counts = new List<int>();
        for (var i = 0; i < 30; i++)
        {
            var bytes = controller.Target == 1 ? 2_000_000L : 1_600_000L * controller.Target;
            controller.Observe(bytes, Interval, errors: 0);
            if (counts.Count == 0 || counts[^1] != controller.Target)
            {
                counts.Add(controller.Target);
            }
        }

        Assert.Equal([1, 10, 16], counts);
    }

    /// <summary>
    /// The same growth, timed: settling and measuring take a fixed number of intervals, so the count reaches the cap of
    /// 16 within 8 intervals of 100 ms (0.8 s) from the first bytes on a 20 MB/s-per-connection link.
    /// </summary>
    [Fact]
    public void Observe_PerConnectionCappedLink_ReachesTheMaximumWithinEightIntervals()
    {
        var controller = new ConnectionController(max: 16);

        var settledAfter = Run(controller, perConnectionPerSecond: 20_000_000, linkTotalPerSecond: long.MaxValue, intervals: 40);

        Assert.Equal(16, controller.Target);
        Assert.InRange(settledAfter, 1, 8);
    }

    /// <summary>
    /// A single stream already at a loopback-like rate: the download is bound by the one writer (hash and file),
    /// not by the connection, so no second connection is ever tried and the single stream is never cut.
    /// </summary>
    [Fact]
    public void Observe_SingleStreamAboveTheCeiling_NeverProbes()
    {
        var controller = new ConnectionController(max: 8);

        Run(controller, perConnectionPerSecond: 900_000_000, linkTotalPerSecond: 900_000_000, intervals: 60);

        Assert.Equal(1, controller.Target);
        Assert.Equal(1, controller.Peak);
    }

    /// <summary>
    /// A single stream still speeding up (a process warming up, TCP's slow start) is measured again until its rate
    /// holds: a slow first window must not make a second connection look like it doubled the rate.
    /// </summary>
    [Fact]
    public void Observe_SingleStreamStillWarmingUp_DoesNotProbeAgainstTheSlowStart()
    {
        var controller = new ConnectionController(max: 8);

        // 100 ms to settle, then 30 MB/s for two intervals, then 300 MB/s from then on: above the ceiling.
        controller.Observe(1_000_000, Interval, errors: 0);
        controller.Observe(3_000_000, Interval, errors: 0);
        controller.Observe(3_000_000, Interval, errors: 0);
        for (var i = 0; i < 20; i++)
        {
            controller.Observe(30_000_000, Interval, errors: 0);
        }

        Assert.Equal(1, controller.Peak);
    }

    /// <summary>The ceiling is a rate, not bytes per interval: longer intervals (a late timer) change nothing.</summary>
    [Fact]
    public void Observe_LateTimer_RateIsBytesOverElapsedTime()
    {
        var controller = new ConnectionController(max: 8);

        // 150 MB in 500 ms is 300 MB/s: above the ceiling although each interval was meant to be 100 ms.
        for (var i = 0; i < 10; i++)
        {
            controller.Observe(150_000_000, TimeSpan.FromMilliseconds(500), errors: 0);
        }

        Assert.Equal(1, controller.Peak);
    }

    /// <summary>One connection fills a link below the ceiling: the second adds nothing and is taken back, once.</summary>
    [Fact]
    public void Observe_LinkFullWithOneConnectionBelowTheCeiling_ProbesOnceAndStaysAtOne()
    {
        var controller = new ConnectionController(max: 8);

        Run(controller, perConnectionPerSecond: 100_000_000, linkTotalPerSecond: 100_000_000, intervals: 60);

        Assert.Equal(1, controller.Target);
        Assert.Equal(2, controller.Peak);
    }

    /// <summary>
    /// A total cap of 5 connections' worth: the probe of 10 brings the cap, and the count ends at the knee with half
    /// again to spare (8, so that the cap stays full while connections wait for their next part), not at the maximum.
    /// </summary>
    [Fact]
    public void Observe_TotalCapReached_StopsAtTheKneeWithHeadroom()
    {
        var controller = new ConnectionController(max: 16);

        Run(controller, perConnectionPerSecond: 20_000_000, linkTotalPerSecond: 100_000_000, intervals: 80);

        Assert.Equal(8, controller.Target);
        Assert.Equal(10, controller.Peak);
    }

    /// <summary>
    /// The first probe asks for the count that would carry the single-stream ceiling at the single stream's rate, not
    /// for two: on a 20 MB/s-per-connection link that is 10, and the next step reaches the cap of 16. Doubling from one
    /// took four steps of 0.3 s to reach 16 (1, 2, 4, 8, 16), most of a 256 MiB download's time on a WAN link.
    /// </summary>
    [Fact]
    public void Observe_PerConnectionCappedLink_FirstProbeAsksForTheCeilingsWorth()
    {
        var controller = new ConnectionController(max: 16);
        var counts = new List<int>();
        for (var i = 0; i < 30; i++)
        {
            controller.Observe(2_000_000L * controller.Target, Interval, errors: 0);
            if (counts.Count == 0 || counts[^1] != controller.Target)
            {
                counts.Add(controller.Target);
            }
        }

        Assert.Equal([1, 10, 16], counts);
    }

    /// <summary>
    /// Intervals before the first body bytes (the first response is still on its way: a long link, a cold process on a
    /// busy machine) say nothing about the link. They must not read as a slow single stream: a loopback download whose
    /// first bytes came 0.3 s late was split into two connections.
    /// </summary>
    [Fact]
    public void Observe_NothingReceivedYet_DoesNotCountAsASlowStream()
    {
        var controller = new ConnectionController(max: 16);
        for (var i = 0; i < 5; i++)
        {
            controller.Observe(0, Interval, errors: 0);
        }

        Run(controller, perConnectionPerSecond: 900_000_000, linkTotalPerSecond: 900_000_000, intervals: 20);

        Assert.Equal(1, controller.Peak);
    }

    /// <summary>
    /// Parts that deliver far less than the single stream (each pays a round trip, here 60 % of the stream's rate) under
    /// a total cap of 100 MB/s: one stream 20 MB/s, two parts 24 MB/s. That is a poor step, not a cap, and the count must
    /// not settle where the link carries a quarter of what it can: it ends where the rate is at least 95 % of the best.
    /// </summary>
    [Fact]
    public void Observe_PartsMuchSlowerThanTheStreamUnderATotalCap_SettlesNearTheCap()
    {
        var controller = new ConnectionController(max: 16);
        static long Rate(int count) => count == 1 ? 20_000_000 : Math.Min(100_000_000, 12_000_000L * count);
        for (var i = 0; i < 80; i++)
        {
            controller.Observe((long)(Rate(controller.Target) * Interval.TotalSeconds), Interval, errors: 0);
        }

        Assert.InRange(Rate(controller.Target), 95_000_000, 100_000_000);
    }

    /// <summary>
    /// Errors halve the count and pause growth; growth resumes after the pause, but never again to the count that
    /// drew the errors: the last one, 4, leaves 3 as the most for the rest of the download.
    /// </summary>
    [Fact]
    public void Observe_Errors_HalveTheCountThenGrowAgainBelowTheCountThatDrewThem()
    {
        var controller = new ConnectionController(max: 8);
        Run(controller, perConnectionPerSecond: 20_000_000, linkTotalPerSecond: long.MaxValue, intervals: 60);

        Assert.Equal(4, controller.Observe(16_000_000, Interval, errors: 1));
        Assert.Equal(2, controller.Observe(8_000_000, Interval, errors: 3));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(2, controller.Observe(4_000_000, Interval, errors: 0));
        }

        Run(controller, perConnectionPerSecond: 20_000_000, linkTotalPerSecond: long.MaxValue, intervals: 60);
        Assert.Equal(3, controller.Target);
    }

    /// <summary>
    /// A server that throttles (429) every interval in which more than 6 connections run, on a link where each
    /// connection carries 2 MB/s: the controller must stop drawing throttling answers, not halve and grow back into
    /// them for ever (16 and 8 in turn, a burst of 429s every 1.3 s), and must not fall back to one connection either.
    /// </summary>
    [Fact]
    public void Observe_ServerThrottlingAboveSixConnections_StopsDrawingErrors()
    {
        const int Allowed = 6;
        var controller = new ConnectionController(max: 16);
        var throttledIntervals = new List<int>();
        for (var i = 0; i < 600; i++)
        {
            var throttled = controller.Target > Allowed;
            if (throttled)
            {
                throttledIntervals.Add(i);
            }

            controller.Observe(200_000L * Math.Min(controller.Target, Allowed), Interval, errors: throttled ? 1 : 0);
        }

        Assert.True(throttledIntervals.Count <= 12, $"throttled in {throttledIntervals.Count} intervals: {string.Join(", ", throttledIntervals)}");
        Assert.DoesNotContain(throttledIntervals, i => i >= 300);
        Assert.InRange(controller.Target, 3, Allowed);
    }

    /// <summary>
    /// The shared part-buffer budget lets only two connections run while the controller asks for ten: those intervals
    /// say nothing about ten connections and must not read as "ten brought no gain" (the count went back to one for
    /// the rest of the download). Once the budget frees, the count carries on growing.
    /// </summary>
    [Fact]
    public void Observe_BudgetLimitedIntervals_AreNotReadAsNoGain()
    {
        const int Runnable = 2;
        var controller = new ConnectionController(max: 16);
        for (var i = 0; i < 60; i++)
        {
            var running = Math.Min(controller.Target, Runnable);
            controller.Observe(2_000_000L * running, Interval, errors: 0, budgetLimited: controller.Target > running);
        }

        Assert.Equal(10, controller.Target);

        Run(controller, perConnectionPerSecond: 20_000_000, linkTotalPerSecond: long.MaxValue, intervals: 40);
        Assert.Equal(16, controller.Target);
    }

    /// <summary>Errors never take the count below one.</summary>
    [Fact]
    public void Observe_ErrorsAtOne_StaysAtOne()
    {
        var controller = new ConnectionController(max: 4);

        Assert.Equal(1, controller.Observe(0, Interval, errors: 5));
        Assert.Equal(1, controller.Target);
    }

    /// <summary>A maximum of one (an explicit single stream) never grows.</summary>
    [Fact]
    public void Observe_MaximumOne_NeverGrows()
    {
        var controller = new ConnectionController(max: 1);

        Run(controller, perConnectionPerSecond: 20_000_000, linkTotalPerSecond: long.MaxValue, intervals: 20);

        Assert.Equal(1, controller.Peak);
    }
}

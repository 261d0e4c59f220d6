using CallVault.Acs.Downloads;

namespace CallVault.Acs.Tests.Downloads;

/// <summary>The connection count decision, fed made-up interval samples: no clock, no network.</summary>
public sealed class ConnectionControllerTests
{
    /// <summary>Feeds intervals from a link where each connection carries <paramref name="perConnection"/> bytes, up to <paramref name="linkTotal"/> in all.</summary>
    private static void Run(ConnectionController controller, long perConnection, long linkTotal, int intervals)
    {
        for (var i = 0; i < intervals; i++)
        {
            controller.Observe(Math.Min(linkTotal, perConnection * controller.Target), errors: 0);
        }
    }

    /// <summary>Each connection is capped and the link is not: connections are added up to the maximum.</summary>
    [Fact]
    public void Observe_PerConnectionCappedLink_GrowsToTheMaximum()
    {
        var controller = new ConnectionController(max: 8);

        Run(controller, perConnection: 2_000_000, linkTotal: long.MaxValue, intervals: 60);

        Assert.Equal(8, controller.Target);
        Assert.Equal(8, controller.Peak);
    }

    /// <summary>One connection already fills the link (loopback): the second adds nothing and is taken back.</summary>
    [Fact]
    public void Observe_LinkFullWithOneConnection_StaysAtOne()
    {
        var controller = new ConnectionController(max: 8);

        Run(controller, perConnection: 1_000_000_000, linkTotal: 1_000_000_000, intervals: 60);

        Assert.Equal(1, controller.Target);
        Assert.Equal(2, controller.Peak);
    }

    /// <summary>A total cap of 5 connections' worth: growth stops at 5, not at the maximum.</summary>
    [Fact]
    public void Observe_TotalCapReached_StopsWhereTheRateStopsGrowing()
    {
        var controller = new ConnectionController(max: 16);

        Run(controller, perConnection: 20_000_000, linkTotal: 100_000_000, intervals: 80);

        Assert.Equal(5, controller.Target);
        Assert.Equal(6, controller.Peak);
    }

    /// <summary>Errors halve the count and pause growth; growth resumes after the pause.</summary>
    [Fact]
    public void Observe_Errors_HalveTheCountThenGrowAgain()
    {
        var controller = new ConnectionController(max: 8);
        Run(controller, perConnection: 2_000_000, linkTotal: long.MaxValue, intervals: 60);

        Assert.Equal(4, controller.Observe(16_000_000, errors: 1));
        Assert.Equal(2, controller.Observe(8_000_000, errors: 3));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(2, controller.Observe(4_000_000, errors: 0));
        }

        Run(controller, perConnection: 2_000_000, linkTotal: long.MaxValue, intervals: 60);
        Assert.Equal(8, controller.Target);
    }

    /// <summary>Errors never take the count below one.</summary>
    [Fact]
    public void Observe_ErrorsAtOne_StaysAtOne()
    {
        var controller = new ConnectionController(max: 4);

        Assert.Equal(1, controller.Observe(0, errors: 5));
        Assert.Equal(1, controller.Target);
    }

    /// <summary>A maximum of one (an explicit single stream) never grows.</summary>
    [Fact]
    public void Observe_MaximumOne_NeverGrows()
    {
        var controller = new ConnectionController(max: 1);

        Run(controller, perConnection: 2_000_000, linkTotal: long.MaxValue, intervals: 20);

        Assert.Equal(1, controller.Peak);
    }
}

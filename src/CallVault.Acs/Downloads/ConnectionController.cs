namespace CallVault.Acs.Downloads;

/// <summary>
/// Decides how many connections one download should use, from what the last sampling intervals delivered. Pure and
/// single-threaded: it sees only the samples it is given, so it is tested with made-up samples and no clock.
/// It starts with one connection and adds one at a time while the total rate keeps rising by at least
/// <see cref="MinGrowth"/>; when a step did not pay off it goes back to the best count seen and stays there. An
/// interval with an error or a throttling answer halves the count and pauses growth for a while, because a service
/// that is failing or pushing back is not helped by more connections.
/// </summary>
internal sealed class ConnectionController
{
    /// <summary>Fraction a step must add to the rate to count as growth: 10 %. Noise on a saturated link stays below it.</summary>
    public const double MinGrowth = 0.10;

    /// <summary>Intervals ignored after a change, while a new connection opens and fills its window.</summary>
    private const int SettleIntervals = 1;

    /// <summary>Intervals measured at one count before it is compared with the previous count.</summary>
    private const int MeasureIntervals = 2;

    /// <summary>Intervals without growth after an error.</summary>
    private const int CooldownIntervals = 8;

    private readonly int _max;
    private int _skip = SettleIntervals;
    private long _measuredBytes;
    private int _measured;
    private double _previousRate;
    private int _cooldown;
    private bool _settled;

    /// <param name="max">The most connections ever asked for, at least 1.</param>
    public ConnectionController(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _max = max;
    }

    /// <summary>The number of connections wanted now.</summary>
    public int Target { get; private set; } = 1;

    /// <summary>The largest <see cref="Target"/> so far.</summary>
    public int Peak { get; private set; } = 1;

    /// <summary>
    /// Takes one interval's figures and returns the new <see cref="Target"/>.
    /// </summary>
    /// <param name="bytes">Body bytes received in the interval, over all connections.</param>
    /// <param name="errors">Failed or throttled requests in the interval.</param>
    public int Observe(long bytes, int errors)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfNegative(errors);
        if (errors > 0)
        {
            SetTarget(Math.Max(1, Target / 2));
            _cooldown = CooldownIntervals;
            _previousRate = 0;
            _settled = false;
            return Target;
        }

        if (_cooldown > 0)
        {
            _cooldown--;
            return Target;
        }

        if (_skip > 0)
        {
            _skip--;
            return Target;
        }

        _measuredBytes += bytes;
        _measured++;
        if (_measured < MeasureIntervals || _settled)
        {
            return Target;
        }

        var rate = (double)_measuredBytes / _measured;
        if (_previousRate > 0 && rate < _previousRate * (1 + MinGrowth))
        {
            // The last connection added did not pay for itself: go back one and stop adding.
            _settled = true;
            SetTarget(Math.Max(1, Target - 1));
            return Target;
        }

        if (Target < _max)
        {
            _previousRate = rate;
            SetTarget(Target + 1);
        }
        else
        {
            _settled = true;
        }

        return Target;
    }

    private void SetTarget(int target)
    {
        if (target != Target)
        {
            _skip = SettleIntervals;
        }

        Target = target;
        Peak = Math.Max(Peak, target);
        _measuredBytes = 0;
        _measured = 0;
    }
}

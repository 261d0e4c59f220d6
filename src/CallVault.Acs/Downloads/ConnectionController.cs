namespace CallVault.Acs.Downloads;

/// <summary>
/// Decides how many connections one download should use, from what the last sampling intervals delivered. Pure and
/// single-threaded: it sees only the samples it is given (bytes and the elapsed time the caller measured), so it is
/// tested with made-up samples and no clock.
/// <para>
/// It starts with one connection, and measures nothing until the first body bytes arrive: intervals spent waiting for
/// the first response (a long link, a cold process) say nothing about the link. A single stream that already runs at
/// <see cref="SingleStreamCeilingBytesPerSecond"/> or faster is left alone: at that rate the download is bound by its
/// one writer (hashing and writing the file in order), not by the connection, so a second connection could not add
/// much, and trying one costs a cut of the stream and extra requests. Below the ceiling the first probe asks for the
/// count that would carry the ceiling at the single stream's rate (10 at 20 MB/s, 2 at 100 MB/s), and from there the
/// count doubles while the total rate scales nearly linearly (each connection is capped, as on a long link), so
/// 20 MB/s per connection reaches 16 in two steps. When a step adds less than <see cref="MinGrowth"/> it goes back to
/// the count before; when it adds more than that but clearly less than linearly (a total cap was reached), it moves
/// to the knee with <see cref="KneeHeadroom"/> to spare, and keeps it only if the rate there stays within
/// <see cref="KneeTolerance"/> of the larger count's. An interval with an error or a throttling answer halves the
/// count and pauses growth for a while, because a service that is failing or pushing back is not helped by more
/// connections; the count that drew the errors is never asked for again in that download (growth stops one below
/// it), so a service that throttles above some count is not hit with a burst of throttling answers every few
/// intervals as the count grows back into it.
/// </para>
/// </summary>
internal sealed class ConnectionController
{
    /// <summary>Fraction a step must add to the rate to count as growth: 10 %. Noise on a saturated link stays below it.</summary>
    public const double MinGrowth = 0.10;

    /// <summary>
    /// Share of the ideal (linear) gain a doubling must bring to double again: 50 %. Parts pay a round trip each that the
    /// single stream does not, so going from one stream to two parts brings well under the ideal on a long link: with
    /// 75 % the count stopped at 2 on a 20 MB/s, 50 ms link (1.44x curl, bench/download.sh), with 50 % it reached 8
    /// (3.7x).
    /// </summary>
    public const double NearLinear = 0.5;

    /// <summary>
    /// Single-stream rate from which no second connection is tried: 200 MB/s. A per-connection-capped long link
    /// (tens of MB/s per connection) stays well below it; loopback and fast local links are above it, where the
    /// single stream is the fastest way and must never be cut.
    /// </summary>
    public const double SingleStreamCeilingBytesPerSecond = 200_000_000;

    /// <summary>
    /// The knee (the fewest connections that carry the rate at the per-connection rate measured before) times this: 1.5.
    /// The rate per connection before the step may be the single stream's, which pays no round trip per part, and a
    /// total cap is only kept full when some connection is always sending while others wait for their next part: at
    /// the bare knee a 100 MB/s cap ran at about 85 %.
    /// </summary>
    public const double KneeHeadroom = 1.5;

    /// <summary>
    /// Share of the larger count's rate the knee must keep to be settled on: 95 %. Below that the larger count was
    /// needed after all (with 90 % the count could settle where the link carried a tenth less than it can).
    /// </summary>
    public const double KneeTolerance = 0.95;

    /// <summary>Intervals ignored after a change, while a new connection opens and fills its window.</summary>
    private const int SettleIntervals = 1;

    /// <summary>Intervals measured at one count before it is compared with the previous count.</summary>
    private const int MeasureIntervals = 2;

    /// <summary>Intervals without growth after an error.</summary>
    private const int CooldownIntervals = 8;

    private int _ceiling;
    private int _skip = SettleIntervals;
    private long _measuredBytes;
    private TimeSpan _measuredTime;
    private int _measured;
    private double _previousRate;
    private double _singleStreamRate;
    private int _previousCount;
    private bool _checkingKnee;
    private int _cooldown;
    private bool _settled;
    private bool _started;

    /// <param name="max">The most connections ever asked for, at least 1; lowered for good by errors.</param>
    public ConnectionController(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _ceiling = max;
    }

    /// <summary>The number of connections wanted now.</summary>
    public int Target { get; private set; } = 1;

    /// <summary>The largest <see cref="Target"/> so far.</summary>
    public int Peak { get; private set; } = 1;

    /// <summary>
    /// Takes one interval's figures and returns the new <see cref="Target"/>.
    /// </summary>
    /// <param name="bytes">Body bytes received in the interval, over all connections.</param>
    /// <param name="elapsed">How long the interval really lasted (a timer fires late on a busy machine).</param>
    /// <param name="errors">Failed or throttled requests in the interval.</param>
    /// <param name="budgetLimited">Whether fewer connections than <see cref="Target"/> ran in the interval because the
    /// shared part-buffer budget was spent: such an interval is not measured, since it says nothing about the count
    /// asked for.</param>
    public int Observe(long bytes, TimeSpan elapsed, int errors, bool budgetLimited = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfNegative(errors);
        if (errors > 0)
        {
            if (Target > 1)
            {
                // A single stream that drew an error says nothing about how many connections are too many.
                _ceiling = Math.Min(_ceiling, Target - 1);
            }

            SetTarget(Math.Max(1, Target / 2));
            _cooldown = CooldownIntervals;
            _previousRate = 0;
            _checkingKnee = false;
            _settled = false;
            return Target;
        }

        if (!_started)
        {
            // Until the first bytes arrive there is no rate to measure; the interval they arrive in is only partly
            // filled, so it is the first one skipped.
            if (bytes == 0)
            {
                return Target;
            }

            _started = true;
        }

        if (_cooldown > 0)
        {
            _cooldown--;
            return Target;
        }

        if (budgetLimited)
        {
            // Not the count asked for: measure afresh (after a settling interval) once it can run.
            _skip = SettleIntervals;
            _measuredBytes = 0;
            _measuredTime = TimeSpan.Zero;
            _measured = 0;
            return Target;
        }

        if (_skip > 0)
        {
            _skip--;
            return Target;
        }

        _measuredBytes += bytes;
        _measuredTime += elapsed > TimeSpan.Zero ? elapsed : TimeSpan.Zero;
        _measured++;
        if (_measured < MeasureIntervals || _settled || _measuredTime <= TimeSpan.Zero)
        {
            return Target;
        }

        Decide(_measuredBytes / _measuredTime.TotalSeconds);
        return Target;
    }

    private void Decide(double rate)
    {
        var count = Target;
        if (_checkingKnee)
        {
            // The knee must carry (nearly) what the larger count did; if not, the larger count was needed after all.
            _checkingKnee = false;
            Settle(rate >= _previousRate * KneeTolerance ? count : _previousCount);
            return;
        }

        if (_previousRate <= 0)
        {
            if (count == 1 && rate >= SingleStreamCeilingBytesPerSecond)
            {
                Settle(1);
                return;
            }

            if (count == 1 && rate > _singleStreamRate * (1 + MinGrowth))
            {
                // Still speeding up (a process warming up, TCP's slow start): measure again, so that the rate a probe
                // is compared with is the stream's own and not its start.
                _singleStreamRate = rate;
                SetTarget(1);
                return;
            }

            rate = Math.Max(rate, _singleStreamRate);
            if (count == 1)
            {
                // As many connections as would carry the ceiling at this stream's rate: a slow link gets there in one
                // step instead of one doubling per 0.3 s, and a stream just under the ceiling still probes only two.
                var probe = rate > 0 ? Math.Ceiling(SingleStreamCeilingBytesPerSecond / rate) : 2;
                Grow(rate, (int)Math.Min(_ceiling, Math.Max(2, probe)));
                return;
            }

            Grow(rate, Math.Min(_ceiling, count * 2));
            return;
        }

        var gain = (rate / _previousRate) - 1;
        var ideal = ((double)count / _previousCount) - 1;
        if (gain < MinGrowth)
        {
            // The last step did not pay for itself: go back and stop adding.
            Settle(_previousCount);
        }
        else if (gain >= NearLinear * ideal)
        {
            Grow(rate, Math.Min(_ceiling, count * 2));
        }
        else
        {
            // Grew, but far from linearly: a total cap. The knee is the count that carries this rate at the rate
            // each connection had before the step (rounded up, with a little slack for noise), with headroom.
            var perConnection = _previousRate / _previousCount;
            var knee = Math.Clamp((int)Math.Ceiling((rate / perConnection * KneeHeadroom) - 0.05), _previousCount + 1, count);
            if (knee == count)
            {
                Settle(count);
                return;
            }

            _previousRate = rate;
            _previousCount = count;
            _checkingKnee = true;
            SetTarget(knee);
        }
    }

    private void Grow(double rate, int next)
    {
        if (next == Target)
        {
            Settle(Target);
            return;
        }

        _previousRate = rate;
        _previousCount = Target;
        SetTarget(next);
    }

    private void Settle(int target)
    {
        _settled = true;
        SetTarget(target);
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
        _measuredTime = TimeSpan.Zero;
        _measured = 0;
    }
}

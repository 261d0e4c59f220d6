namespace CallVault.Acs.Internal;

/// <summary>
/// A cancellation token that fires when nothing has happened for the stall timeout. Each <see cref="Restart"/> (called
/// before every read) pushes the deadline back, so a slow transfer that keeps moving never times out. The timer is
/// re-armed at most every quarter of the timeout, because re-arming it on each of the tens of thousands of reads of a
/// large object costs measurable kernel time; a stall is then detected after between 1 and 1.25 timeouts.
/// </summary>
internal sealed class StallGuard : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private long _armedAt;

    public StallGuard(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        _timeout = timeout;
        _timeProvider = timeProvider;
        _armedAt = timeProvider.GetTimestamp();
        _timer = new CancellationTokenSource(timeout, timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
    }

    public TimeSpan Timeout => _timeout;

    public CancellationToken Token => _linked.Token;

    public bool HasFired => _timer.IsCancellationRequested;

    public void Restart()
    {
        var now = _timeProvider.GetTimestamp();
        if (_timeProvider.GetElapsedTime(Volatile.Read(ref _armedAt), now) >= _timeout / 4)
        {
            // Armed for the full timeout from now: the deadline is never earlier than one timeout after the last read.
            _timer.CancelAfter(_timeout + (_timeout / 4));
            Volatile.Write(ref _armedAt, now);
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}

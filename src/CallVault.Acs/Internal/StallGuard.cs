namespace CallVault.Acs.Internal;

/// <summary>
/// A cancellation token that fires when nothing has happened for the stall timeout. Each <see cref="Restart"/> (called
/// before every read) pushes the deadline back, so a slow transfer that keeps moving never times out.
/// </summary>
internal sealed class StallGuard : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;
    private readonly TimeSpan _timeout;

    public StallGuard(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        _timeout = timeout;
        _timer = new CancellationTokenSource(timeout, timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
    }

    public TimeSpan Timeout => _timeout;

    public CancellationToken Token => _linked.Token;

    public bool HasFired => _timer.IsCancellationRequested;

    public void Restart() => _timer.CancelAfter(_timeout);

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}

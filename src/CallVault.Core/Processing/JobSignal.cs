namespace CallVault.Processing;

/// <summary>Wakes idle workers when new chunks are enqueued, so they need not wait for the next poll.</summary>
public sealed class JobSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    /// <summary>Says that <paramref name="count"/> new chunks are due.</summary>
    public void Notify(int count)
    {
        if (count > 0)
        {
            _signal.Release(count);
        }
    }

    /// <summary>Waits for a notification or the timeout.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _signal.Dispose();
}

namespace CallVault.Emulator.Faults;

/// <summary>
/// A token bucket every download connection draws from, so that together they carry no more than a total rate: the
/// link's <see cref="LinkShape.TotalBandwidthBytesPerSecond"/>, as a shared uplink caps many connections at once. A
/// connection takes the bytes it is about to send and waits for the time the bucket says; the bucket may go into debt,
/// so connections queue behind each other in the order they asked, and none is starved.
/// </summary>
internal sealed class SharedBandwidth
{
    private readonly TimeProvider _timeProvider;
    private readonly Lock _gate = new();
    private long _refilledAt;
    private double _tokens;

    /// <param name="bytesPerSecond">The total rate in bytes per second; above 0.</param>
    /// <param name="timeProvider">The clock the rate is measured on.</param>
    public SharedBandwidth(long bytesPerSecond, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        BytesPerSecond = bytesPerSecond;
        _timeProvider = timeProvider;
        // An idle link may send one burst at once: two of the emulator's writes, or 10 ms at the rate if that is more,
        // so a fast cap is not limited by timer resolution rather than by the rate.
        BurstBytes = (int)Math.Max(2L * Storage.ObjectResponder.BlockSize, bytesPerSecond / 100);
        _tokens = BurstBytes;
        _refilledAt = timeProvider.GetTimestamp();
    }

    /// <summary>The total rate, bytes per second.</summary>
    public long BytesPerSecond { get; }

    /// <summary>Bytes an idle link may send at once; the bucket's capacity.</summary>
    public int BurstBytes { get; }

    /// <summary>Takes <paramref name="count"/> bytes from the bucket.</summary>
    /// <returns>How long the caller must wait before sending them; zero when the bucket holds them.</returns>
    public TimeSpan Take(int count)
    {
        lock (_gate)
        {
            var now = _timeProvider.GetTimestamp();
            var idle = _timeProvider.GetElapsedTime(_refilledAt, now);
            _refilledAt = now;
            _tokens = Math.Min(BurstBytes, _tokens + (idle.TotalSeconds * BytesPerSecond));
            _tokens -= count;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / BytesPerSecond);
        }
    }
}

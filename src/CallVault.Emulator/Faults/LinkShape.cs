namespace CallVault.Emulator.Faults;

/// <summary>
/// How the emulated network behaves for every download: a bandwidth cap per connection, a cap on all connections
/// together and a latency added before each response, to model a WAN link. The body of <c>PUT /admin/link</c>.
/// </summary>
public sealed record LinkShape
{
    /// <summary>Bytes per second one connection may carry; 0 (default) for no cap.</summary>
    public long BandwidthBytesPerSecond { get; init; }

    /// <summary>
    /// Bytes per second all download connections together may carry, shared through one token bucket; 0 (default) for
    /// no cap. With a per-connection cap as well, this models a link where a few connections fill the pipe.
    /// </summary>
    public long TotalBandwidthBytesPerSecond { get; init; }

    /// <summary>Milliseconds added before each response starts. Default 0.</summary>
    public int LatencyMilliseconds { get; init; }
}

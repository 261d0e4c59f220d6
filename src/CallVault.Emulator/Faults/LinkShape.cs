namespace CallVault.Emulator.Faults;

/// <summary>
/// How the emulated network behaves for every download: a bandwidth cap per connection and a latency added before each
/// response, to model a WAN link. The body of <c>PUT /admin/link</c>.
/// </summary>
public sealed record LinkShape
{
    /// <summary>Bytes per second one connection may carry; 0 (default) for no cap.</summary>
    public long BandwidthBytesPerSecond { get; init; }

    /// <summary>Milliseconds added before each response starts. Default 0.</summary>
    public int LatencyMilliseconds { get; init; }
}

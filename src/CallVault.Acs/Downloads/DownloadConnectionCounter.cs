namespace CallVault.Acs.Downloads;

/// <summary>
/// Connections open now over every download of one client, for a gauge. Thread-safe; never negative.
/// </summary>
public sealed class DownloadConnectionCounter
{
    private long _open;

    /// <summary>Connections fetching object bytes right now.</summary>
    public long Open => Interlocked.Read(ref _open);

    internal void Add(int delta) => Interlocked.Add(ref _open, delta);
}

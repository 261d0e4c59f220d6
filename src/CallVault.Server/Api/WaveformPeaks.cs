using CallVault.Media;
using Microsoft.Extensions.Caching.Memory;

namespace CallVault.Server.Api;

/// <summary>
/// The waveform endpoint's guard against readers who ask again and again: peaks are kept in memory per (media SHA-256,
/// points), so a chunk's file is decoded once per width however often it is drawn, and at most one decode per core runs
/// at a time (a 4-hour chunk is about 1.5 GB of audio to stream). A request that finds every slot taken is turned away
/// rather than queued, so a burst cannot pile up work or memory.
/// </summary>
internal sealed class WaveformPeaks : IDisposable
{
    /// <summary>Memory for kept peaks: 64 MiB, at least 64 of the largest answers (4,000 points × 32 channels).</summary>
    public const long MemoryBudgetBytes = 64L * 1024 * 1024;

    private readonly MemoryCache _kept = new(new MemoryCacheOptions { SizeLimit = MemoryBudgetBytes });
    private readonly SemaphoreSlim _slots;
    private long _decodesStarted;

    /// <summary>One decode at a time per processor the process may use.</summary>
    public WaveformPeaks()
        : this(Environment.ProcessorCount)
    {
    }

    private WaveformPeaks(int maxConcurrentDecodes) => _slots = new SemaphoreSlim(maxConcurrentDecodes, maxConcurrentDecodes);

    /// <summary>Decodes started since start-up (each one a read of a whole file), for tests and diagnostics.</summary>
    public long DecodesStarted => Interlocked.Read(ref _decodesStarted);

    /// <summary>The peaks of this media at this width, if they were decoded before and are still kept.</summary>
    public bool TryGet(string mediaSha256, int points, out Waveform waveform) =>
        _kept.TryGetValue(KeyOf(mediaSha256, points), out waveform!) && waveform is not null;

    /// <summary>A decode slot to hold while decoding (dispose it when done), or null when every slot is taken.</summary>
    public IDisposable? TryStartDecode()
    {
        if (!_slots.Wait(0))
        {
            return null;
        }

        Interlocked.Increment(ref _decodesStarted);
        return new Slot(_slots);
    }

    /// <summary>Keeps decoded peaks; the least recently read ones go first when the budget is spent.</summary>
    public void Keep(string mediaSha256, int points, Waveform waveform)
    {
        ArgumentNullException.ThrowIfNull(waveform);
        var size = 256 + (waveform.Min.Sum(m => (long)m.Length) + waveform.Max.Sum(m => (long)m.Length)) * sizeof(float);
        _kept.Set(KeyOf(mediaSha256, points), waveform, new MemoryCacheEntryOptions { Size = size, SlidingExpiration = TimeSpan.FromHours(1) });
    }

    public void Dispose()
    {
        _kept.Dispose();
        _slots.Dispose();
    }

    // The SHA-256 names the bytes, not the chunk: two chunks with the same audio share peaks, and nothing can go stale.
    private static string KeyOf(string mediaSha256, int points) => $"{mediaSha256}:{points}";

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}

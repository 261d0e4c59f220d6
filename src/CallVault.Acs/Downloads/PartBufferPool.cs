using System.Diagnostics.CodeAnalysis;

namespace CallVault.Acs.Downloads;

/// <summary>
/// The buffers that parallel parts are fetched into, shared by every download of one client registration and held
/// within a budget. A part's buffer lives until everything before the part is written, so without a shared bound
/// each download holds up to <c>connections × PartSizeBytes</c> and several large downloads at once add up (four
/// service workers: 128 MiB, most of it large-object-heap arrays that only a full collection frees). Returned
/// buffers are kept for the next part of any download instead of being left to the garbage collector.
/// <para>
/// A download never waits for this budget: when it is spent, no further part starts and the download goes on over
/// the connections it has (at worst its single open-ended stream), so it only costs parallelism, never progress.
/// Thread-safe.
/// </para>
/// </summary>
public sealed class PartBufferPool
{
    private readonly Lock _lock = new();
    private readonly Stack<byte[]> _free = new();
    private long _freeBytes;
    private long _rentedBytes;
    private long _peakRentedBytes;

    /// <summary>Creates a pool that holds at most <paramref name="budgetBytes"/> bytes of part buffers, rented or kept.</summary>
    /// <param name="budgetBytes">The most bytes of part buffers at once, in bytes; 0 allows no parts at all.</param>
    public PartBufferPool(long budgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        BudgetBytes = budgetBytes;
    }

    /// <summary>The most bytes of part buffers this pool holds at once (rented and kept for reuse), in bytes.</summary>
    public long BudgetBytes { get; }

    /// <summary>Bytes of part buffers handed out to downloads now.</summary>
    public long RentedBytes
    {
        get
        {
            lock (_lock)
            {
                return _rentedBytes;
            }
        }
    }

    /// <summary>The most bytes of part buffers handed out at once since the pool was created.</summary>
    public long PeakRentedBytes
    {
        get
        {
            lock (_lock)
            {
                return _peakRentedBytes;
            }
        }
    }

    /// <summary>
    /// A buffer of exactly <paramref name="length"/> bytes (not cleared: a part overwrites it before anything reads
    /// it), or false when handing it out would exceed the budget. Kept buffers of another length are dropped to make
    /// room, so a download with another part size is not shut out by buffers no one will reuse.
    /// </summary>
    internal bool TryRent(int length, [NotNullWhen(true)] out byte[]? buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        lock (_lock)
        {
            if (_rentedBytes + length > BudgetBytes)
            {
                buffer = null;
                return false;
            }

            buffer = TakeKept(length);
            _rentedBytes += length;
            _peakRentedBytes = Math.Max(_peakRentedBytes, _rentedBytes);
        }

        // Outside the lock: a 4 MiB allocation may wait for a collection.
        buffer ??= GC.AllocateUninitializedArray<byte>(length);
        return true;
    }

    /// <summary>Gives a buffer from <see cref="TryRent"/> back, to be handed out again.</summary>
    internal void Return(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        lock (_lock)
        {
            _rentedBytes -= buffer.Length;
            if (_rentedBytes + _freeBytes + buffer.Length <= BudgetBytes)
            {
                _free.Push(buffer);
                _freeBytes += buffer.Length;
            }
        }
    }

    /// <summary>A kept buffer of <paramref name="length"/> bytes, after dropping kept ones until the new one fits.</summary>
    private byte[]? TakeKept(int length)
    {
        if (_free.TryPeek(out var top) && top.Length == length)
        {
            // The usual case: every download of the client uses the same part size.
            _freeBytes -= length;
            return _free.Pop();
        }

        byte[]? match = null;
        var others = new List<byte[]>();
        while (_free.TryPop(out var kept))
        {
            _freeBytes -= kept.Length;
            if (match is null && kept.Length == length)
            {
                match = kept;
                break;
            }

            others.Add(kept);
        }

        // Keep the others only while they fit beside what is rented (and the new buffer); drop the rest.
        foreach (var kept in others)
        {
            if (_rentedBytes + length + _freeBytes + kept.Length <= BudgetBytes)
            {
                _free.Push(kept);
                _freeBytes += kept.Length;
            }
        }

        return match;
    }
}

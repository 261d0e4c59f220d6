namespace CallVault.Acs.Downloads;

/// <summary>An inclusive byte range <c>[First, Last]</c> of an object, as in <c>Range: bytes=First-Last</c>.</summary>
public readonly record struct ByteRange(long First, long Last)
{
    /// <summary>Bytes in the range.</summary>
    public long Length => Last - First + 1;

    /// <summary>Splits <c>[start, total)</c> into consecutive ranges of at most <paramref name="partSize"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative start, a start past the total, or a part size below 1.</exception>
    public static IEnumerable<ByteRange> Partition(long start, long total, long partSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, total);
        ArgumentOutOfRangeException.ThrowIfLessThan(partSize, 1);
        return Iterate(start, total, partSize);

        static IEnumerable<ByteRange> Iterate(long start, long total, long partSize)
        {
            for (var first = start; first < total; first += partSize)
            {
                yield return new ByteRange(first, Math.Min(first + partSize, total) - 1);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"bytes={First}-{Last}";
}

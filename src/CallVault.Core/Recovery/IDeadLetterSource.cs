namespace CallVault.Recovery;

/// <summary>The dead-letter container as recovery reads it (Azure Blob Storage in production).</summary>
public interface IDeadLetterSource
{
    /// <summary>Every blob in the container, at any depth (the prefix differs between topic kinds).</summary>
    IAsyncEnumerable<DeadLetterBlobRef> ListAsync(CancellationToken cancellationToken);

    /// <summary>Reads a blob at the ETag it was listed with.</summary>
    /// <param name="blob">The blob as listed.</param>
    /// <param name="maxBytes">The most bytes read; a larger blob is answered <see cref="DeadLetterBlobRead.TooLarge"/> without reading it.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<DeadLetterBlobRead> ReadAsync(DeadLetterBlobRef blob, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Deletes a blob if it still has <paramref name="blob"/>'s ETag; a blob gone or rewritten meanwhile is left alone.</summary>
    Task DeleteAsync(DeadLetterBlobRef blob, CancellationToken cancellationToken);
}

/// <summary>What reading a dead-letter blob gave.</summary>
public abstract record DeadLetterBlobRead
{
    private DeadLetterBlobRead()
    {
    }

    /// <summary>The blob's bytes, at the listed ETag.</summary>
    /// <param name="Content">The bytes.</param>
    public sealed record Read(BinaryData Content) : DeadLetterBlobRead;

    /// <summary>The blob is larger than the limit; it was not read.</summary>
    /// <param name="Length">Its length in bytes.</param>
    public sealed record TooLarge(long Length) : DeadLetterBlobRead;

    /// <summary>The blob was deleted or rewritten since it was listed; the next listing shows what is there now.</summary>
    public sealed record Changed : DeadLetterBlobRead;
}

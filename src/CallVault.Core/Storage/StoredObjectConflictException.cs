namespace CallVault.Storage;

/// <summary>
/// A write was refused because the path already holds an object with different bytes; the stored object is kept as it
/// was. A committed recording is never replaced, so two recordings or chunks mapped to one path cannot silently destroy
/// each other. No retry can cure it: the download worker dead-letters the chunk with this message, before anything is
/// deleted from ACS, so the refused recording is still there to be fetched once the operator has looked.
/// </summary>
/// <remarks>An <see cref="IOException"/> (the store refused a write); <see cref="InvalidDataException"/> is sealed.</remarks>
public sealed class StoredObjectConflictException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The store-relative path that already holds an object.</param>
    /// <param name="existingLength">The stored object's length in bytes.</param>
    /// <param name="refusedLength">The refused object's length in bytes.</param>
    public StoredObjectConflictException(string path, long existingLength, long refusedLength)
        : base($"Refused to store {refusedLength} bytes at '{path}': it already holds a different object ({existingLength} bytes), which was kept. Two recordings or chunks map to the same path.")
    {
        Path = path;
        ExistingLength = existingLength;
        RefusedLength = refusedLength;
    }

    /// <summary>Creates the exception with only a message (serialisation and tooling).</summary>
    public StoredObjectConflictException()
        : this(string.Empty, 0, 0)
    {
    }

    /// <summary>Creates the exception with only a message.</summary>
    public StoredObjectConflictException(string message)
        : base(message)
    {
        Path = string.Empty;
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public StoredObjectConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
    }

    /// <summary>The store-relative path that already holds an object.</summary>
    public string Path { get; }

    /// <summary>The stored object's length in bytes.</summary>
    public long ExistingLength { get; }

    /// <summary>The refused object's length in bytes.</summary>
    public long RefusedLength { get; }
}

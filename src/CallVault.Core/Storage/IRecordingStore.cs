using System.Security.Cryptography;

namespace CallVault.Storage;

/// <summary>
/// Where recordings are kept: local disk (default) or Azure Blob Storage. Paths are store-relative, use <c>/</c>, and
/// come from <see cref="RecordingLayout"/>; an implementation refuses any path that would leave its root.
/// </summary>
/// <remarks>
/// Contract every implementation honours (checked by the recording-store contract tests): an object becomes visible at
/// its path only when committed, whole; an upload that is interrupted can be reopened and continues after the bytes
/// already persisted; a committed object is never replaced by different bytes (<see cref="StoredObjectConflictException"/>),
/// while writing the same bytes again succeeds, so a retry after a crash between a commit and its bookkeeping is safe.
/// Only <see cref="ReplaceAsync"/> (the manifest) rewrites an object.
/// </remarks>
public interface IRecordingStore
{
    /// <summary>Opens (or reopens, after an interruption) a resumable upload of the object at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The path is not a valid store-relative path.</exception>
    Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a small object (a chunk's metadata) atomically, once: creates it, or does nothing when the path already
    /// holds exactly these bytes.
    /// </summary>
    /// <exception cref="StoredObjectConflictException">The path holds different bytes; they are left as they are.</exception>
    /// <exception cref="ArgumentException">The path is not a valid store-relative path.</exception>
    Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Writes a small object that is meant to be rewritten (a recording's manifest) atomically, replacing any earlier version.</summary>
    /// <exception cref="ArgumentException">The path is not a valid store-relative path.</exception>
    Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Opens a committed object for reading (seekable), or returns null when there is none.</summary>
    Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken);

    /// <summary>Checks that the store can be written to; throws with the reason when it cannot.</summary>
    Task CheckWritableAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the committed object at <paramref name="path"/> (and anything an interrupted upload left for it), durably.
    /// Idempotent: deleting what is not there succeeds, so a deletion interrupted by a crash can simply be run again.
    /// </summary>
    /// <returns>Whether an object was there to delete.</returns>
    /// <exception cref="ArgumentException">The path is not a valid store-relative path.</exception>
    Task<bool> DeleteAsync(string path, CancellationToken cancellationToken);
}

/// <summary>An upload that survives interruptions: the bytes written before a crash are kept and the next attempt appends.</summary>
public interface IResumableUpload : IAsyncDisposable
{
    /// <summary>Bytes already persisted by earlier attempts and known to be intact; <see cref="Content"/> continues after them.</summary>
    long PersistedLength { get; }

    /// <summary>Where the rest of the object is written, positioned at <see cref="PersistedLength"/>.</summary>
    Stream Content { get; }

    /// <summary>
    /// Whether <see cref="HashPersistedAsync"/> can read the persisted bytes back. Blob Storage cannot read staged,
    /// uncommitted blocks; the object is then hashed after <see cref="CommitAsync"/> instead.
    /// </summary>
    bool CanHashPersisted { get; }

    /// <summary>Feeds the persisted bytes into <paramref name="hash"/>, so a resumed download can hash the whole object.</summary>
    /// <exception cref="NotSupportedException"><see cref="CanHashPersisted"/> is false.</exception>
    Task HashPersistedAsync(IncrementalHash hash, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the object durable and visible at its path. Succeeds without change when the path already holds exactly
    /// these bytes (a retry after a crash that followed an earlier commit).
    /// </summary>
    /// <exception cref="StoredObjectConflictException">The path holds different bytes; they are left as they are.</exception>
    Task CommitAsync(CancellationToken cancellationToken);
}

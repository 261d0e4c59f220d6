using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace CallVault.Storage;

/// <summary>
/// Keeps recordings as files under a root folder. An upload is written to <c>{path}.partial</c>; every
/// <see cref="SyncIntervalBytes"/> it is fsynced and a checkpoint (<c>{path}.partial.ckpt</c>: the durable length and
/// the SHA-256 of that prefix) is recorded, so after a crash or a power loss it resumes only from a prefix known to be
/// intact. On commit it is fsynced and linked into place without ever replacing an existing object. Small objects are
/// written to a temporary file and renamed. New folders, renames and links are made durable by syncing the folders
/// that hold them; a failed open or fsync fails the write. Every path is checked to stay under the root.
/// </summary>
public sealed partial class DiskRecordingStore : IRecordingStore
{
    /// <summary>Default for <see cref="SyncIntervalBytes"/>: 8 MiB (as a Blob block), the most a crash or power loss costs an upload.</summary>
    public const long DefaultSyncIntervalBytes = 8L * 1024 * 1024;

    private const string PartialSuffix = ".partial";
    private const string CheckpointSuffix = ".ckpt";

    // The checkpoint a commit writes without syncing it, beside the durable one rather than over it.
    private const string CommitCheckpointSuffix = ".commit.ckpt";
    private const int ErrorFileExists = 17;
    private const int ErrorNotPermitted = 1;
    private const int ErrorNotSupported = 95;
    private const int ErrorNoSystemCall = 38;
    /// <summary>The most folders remembered as durable before the memory is dropped (it only saves syncs): 100,000.</summary>
    private const int MaxDurableFolders = 100_000;

    private readonly string _root;
    private readonly IFileSync _sync;

    // Folders whose own entry in their parent this process has made durable (it synced the parent after the folder
    // existed): an entry, once durable, stays so, so their parents need not be synced again for every new file below.
    // A new process starts empty, so the folders an earlier process created but crashed before syncing are synced again.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _durableFolders = new(StringComparer.Ordinal);

    // Serialises creating folders with removing empty ones, so that a removal cannot happen between a writer's check that
    // a folder exists and its creation of the folders below (Directory.CreateDirectory would re-create the removed ones
    // without syncing their parents), and so that a removed folder leaves the durable cache before a writer looks.
    private readonly Lock _folders = new();

    /// <summary>Creates the store; the folder is created when missing.</summary>
    /// <param name="root">The root folder.</param>
    /// <param name="syncIntervalBytes">Bytes an upload writes between fsync checkpoints, at least 64 KiB; default <see cref="DefaultSyncIntervalBytes"/>.</param>
    public DiskRecordingStore(string root, long syncIntervalBytes = DefaultSyncIntervalBytes)
        : this(root, syncIntervalBytes, OsFileSync.Instance)
    {
    }

    /// <summary>Creates the store with another way to sync (tests make it fail).</summary>
    internal DiskRecordingStore(string root, long syncIntervalBytes, IFileSync sync)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentOutOfRangeException.ThrowIfLessThan(syncIntervalBytes, 64 * 1024);
        ArgumentNullException.ThrowIfNull(sync);
        _sync = sync;
        SyncIntervalBytes = syncIntervalBytes;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
        CreateDirectories(Path.TrimEndingDirectorySeparator(_root), stopAt: null);
    }

    /// <summary>The absolute root folder.</summary>
    public string Root => _root;

    /// <summary>Bytes an upload writes between fsync checkpoints.</summary>
    public long SyncIntervalBytes { get; }

    /// <inheritdoc />
    public async Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken)
    {
        var full = FullPath(path);
        CreateDirectories(Path.GetDirectoryName(full)!, stopAt: _root);
        return await DiskUpload.OpenAsync(this, full, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var full = FullPath(path);
        var temporary = await WriteTemporaryAsync(full, content, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!TryPublish(temporary, full))
            {
                var existing = await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false);
                if (!existing.AsSpan().SequenceEqual(content.Span))
                {
                    throw new StoredObjectConflictException(path, existing.Length, content.Length);
                }
            }

            SyncFolders(Path.GetDirectoryName(full)!);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <inheritdoc />
    public async Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var full = FullPath(path);
        var temporary = await WriteTemporaryAsync(full, content, cancellationToken).ConfigureAwait(false);
        try
        {
            File.Move(temporary, full, overwrite: true);
            SyncFolders(Path.GetDirectoryName(full)!);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var full = FullPath(path);
        Stream? stream = File.Exists(full)
            ? new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous)
            : null;
        return Task.FromResult(stream);
    }

    /// <inheritdoc />
    public async Task CheckWritableAsync(CancellationToken cancellationToken)
    {
        var probe = Path.Combine(_root, $".probe-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(probe, [1], cancellationToken).ConfigureAwait(false);
        File.Delete(probe);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Removes the object and an interrupted upload's <c>.partial</c> and checkpoint, syncs the folder so the removal
    /// survives a power loss, then removes the folders this leaves empty (never the root).
    /// </remarks>
    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken)
    {
        var full = FullPath(path);
        cancellationToken.ThrowIfCancellationRequested();
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            // Gone with its folder (an earlier attempt removed both): nothing to do.
            return Task.FromResult(false);
        }

        var existed = File.Exists(full);
        File.Delete(full);
        File.Delete(full + PartialSuffix);
        File.Delete(full + PartialSuffix + CheckpointSuffix);
        File.Delete(full + PartialSuffix + CommitCheckpointSuffix);
        RemoveLeftoverTemporaries(folder);
        _sync.SyncDirectory(folder);
        RemoveEmptyFolders(folder);
        return Task.FromResult(existed);
    }

    /// <summary>
    /// Once a folder holds nothing but temporary files (<c>*.tmp</c>: a write or checkpoint a crash interrupted before
    /// its rename), they are removed so that the folder can go with the last object. While anything else is there they
    /// are left alone: one may be a write in progress beside it.
    /// </summary>
    private static void RemoveLeftoverTemporaries(string folder)
    {
        var entries = Directory.EnumerateFileSystemEntries(folder).ToList();
        if (entries.Count == 0 || !entries.All(e => e.EndsWith(".tmp", StringComparison.Ordinal) && File.Exists(e)))
        {
            return;
        }

        foreach (var temporary in entries)
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The absolute path for a store-relative one; throws when it is malformed or would leave the root.</summary>
    internal string FullPath(string path)
    {
        if (!RecordingLayout.IsValidPath(path))
        {
            throw new ArgumentException($"'{path}' is not a valid store path.", nameof(path));
        }

        var full = Path.GetFullPath(Path.Combine(_root, path.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(_root, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' would leave the store's root.", nameof(path));
        }

        return full;
    }

    /// <summary>
    /// Creates a folder and its missing parents, syncing each new folder's parent so that the new entry survives a power
    /// loss. <paramref name="stopAt"/> (the root) is never created here.
    /// </summary>
    private void CreateDirectories(string folder, string? stopAt)
    {
        lock (_folders)
        {
            CreateDirectoriesLocked(folder, stopAt);
        }
    }

    private void CreateDirectoriesLocked(string folder, string? stopAt)
    {
        var missing = new Stack<string>();
        for (var current = folder; !Directory.Exists(current); current = Path.GetDirectoryName(current)!)
        {
            if (stopAt is not null && !current.StartsWith(stopAt, StringComparison.Ordinal))
            {
                throw new IOException($"The store's root '{stopAt}' is gone.");
            }

            missing.Push(current);
            if (Path.GetDirectoryName(current) is null)
            {
                break;
            }
        }

        while (missing.TryPop(out var created))
        {
            Directory.CreateDirectory(created);
            _sync.SyncDirectory(Path.GetDirectoryName(created)!);
            RememberDurable(created);
        }
    }

    /// <summary>Removes <paramref name="folder"/> and its parents while they are empty, stopping below the root.</summary>
    private void RemoveEmptyFolders(string folder)
    {
        lock (_folders)
        {
            RemoveEmptyFoldersLocked(folder);
        }
    }

    private void RemoveEmptyFoldersLocked(string folder)
    {
        var root = Path.TrimEndingDirectorySeparator(_root);
        for (var current = folder; current.Length > root.Length && current.StartsWith(_root, StringComparison.Ordinal); current = Path.GetDirectoryName(current)!)
        {
            try
            {
                if (!Directory.Exists(current) || Directory.EnumerateFileSystemEntries(current).Any())
                {
                    return;
                }

                Directory.Delete(current);

                // Gone, so no longer durable: if it comes back its parent must be synced again.
                _durableFolders.TryRemove(current, out _);
                _sync.SyncDirectory(Path.GetDirectoryName(current)!);
            }
            catch (IOException)
            {
                // Another writer put a file there meanwhile: the folder is in use, which is fine.
                return;
            }
        }
    }

    /// <summary>
    /// Syncs a folder (the rename or link just made in it), then the parent of every folder up to the root whose entry
    /// this process has not yet made durable: the entries of folders created by an earlier attempt that crashed
    /// before it could sync them. Once a folder's entry is durable its parent is not synced again, so a file written into
    /// a known folder costs one folder sync, not one per level.
    /// </summary>
    private void SyncFolders(string folder)
    {
        var root = Path.TrimEndingDirectorySeparator(_root);
        _sync.SyncDirectory(folder);
        for (var current = folder; current.Length > root.Length; current = Path.GetDirectoryName(current)!)
        {
            // Every level is checked, not only up to the first durable one: a folder this process created may sit
            // below one an earlier process created and never synced.
            if (!_durableFolders.ContainsKey(current))
            {
                _sync.SyncDirectory(Path.GetDirectoryName(current)!);
                RememberDurable(current);
            }
        }
    }

    private void RememberDurable(string folder)
    {
        if (_durableFolders.Count >= MaxDurableFolders)
        {
            // Forgetting costs only syncs that were not needed; it keeps a long-running process's memory bounded.
            _durableFolders.Clear();
        }

        _durableFolders.TryAdd(folder, 0);
    }

    private async Task<string> WriteTemporaryAsync(string full, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        CreateDirectories(Path.GetDirectoryName(full)!, stopAt: _root);
        var temporary = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                _sync.SyncFile(stream);
            }

            return temporary;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Moves a synced file into place unless the destination exists (then returns false and leaves both). On Linux a hard
    /// link, which fails atomically when the name is taken, then the source is removed; where hard links are not
    /// supported, a move that refuses to overwrite.
    /// </summary>
    private static bool TryPublish(string source, string destination)
    {
        if (OperatingSystem.IsLinux())
        {
            if (Link(source, destination) == 0)
            {
                File.Delete(source);
                return true;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error == ErrorFileExists)
            {
                return false;
            }

            if (error is not (ErrorNotPermitted or ErrorNotSupported or ErrorNoSystemCall))
            {
                throw new IOException($"Could not link '{source}' to '{destination}': errno {error} ({Marshal.GetPInvokeErrorMessage(error)}).", error);
            }
        }

        try
        {
            File.Move(source, destination, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(destination))
        {
            return false;
        }
    }

    /// <summary>Whether the file at <paramref name="path"/> has exactly this length and SHA-256.</summary>
    private static async Task<bool> HasContentAsync(string path, long length, byte[] sha256, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            return stream.Length == length
                && CryptographicOperations.FixedTimeEquals(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false), sha256);
        }
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);
}

using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace CallVault.Storage;

/// <summary>
/// Keeps recordings as files under a root folder. An upload is written to <c>{path}.partial</c>, resumed from its
/// length after a crash, then flushed to disk and renamed into place; small objects are written to a temporary file
/// and renamed. Every path is checked to stay under the root.
/// </summary>
public sealed partial class DiskRecordingStore : IRecordingStore
{
    private const string PartialSuffix = ".partial";
    private readonly string _root;

    /// <summary>Creates the store; the folder is created when missing.</summary>
    /// <param name="root">The root folder.</param>
    public DiskRecordingStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
        Directory.CreateDirectory(_root);
    }

    /// <summary>The absolute root folder.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken)
    {
        var full = FullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var partial = full + PartialSuffix;
        var stream = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
        stream.Seek(0, SeekOrigin.End);
        return Task.FromResult<IResumableUpload>(new DiskUpload(stream, partial, full));
    }

    /// <inheritdoc />
    public async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var full = FullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
            SyncDirectory(folder);
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

    /// <summary>Makes a rename in <paramref name="folder"/> durable (fsync of the directory, on Linux).</summary>
    private static void SyncDirectory(string folder)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(folder, 0);
        if (fd >= 0)
        {
            _ = Fsync(fd);
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    private sealed class DiskUpload(FileStream stream, string partialPath, string finalPath) : IResumableUpload
    {
        public long PersistedLength { get; } = stream.Length;

        public Stream Content => stream;

        public bool CanHashPersisted => true;

        public async Task HashPersistedAsync(IncrementalHash hash, CancellationToken cancellationToken)
        {
            // Read through the upload's own stream: the partial file is locked against every other opener.
            var buffer = new byte[1024 * 1024];
            stream.Position = 0;
            var remaining = PersistedLength;
            while (remaining > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"'{partialPath}' is shorter than when it was opened.");
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }

            stream.Position = PersistedLength;
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
            await stream.DisposeAsync().ConfigureAwait(false);
            CallVault.Diagnostics.CrashPoint.Hit("disk.before-rename");
            File.Move(partialPath, finalPath, overwrite: true);
            SyncDirectory(Path.GetDirectoryName(finalPath)!);
        }

        public ValueTask DisposeAsync() => stream.DisposeAsync();
    }
}

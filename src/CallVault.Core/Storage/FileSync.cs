using System.Runtime.InteropServices;

namespace CallVault.Storage;

/// <summary>Makes file contents and directory entries durable. A seam, so tests can make a sync fail.</summary>
internal interface IFileSync
{
    /// <summary>Flushes a file's data to the device (fsync); throws <see cref="IOException"/> when that fails.</summary>
    void SyncFile(FileStream file);

    /// <summary>Makes the entries of a folder (new files, renames, new subfolders) durable; throws <see cref="IOException"/> when that fails.</summary>
    void SyncDirectory(string folder);
}

/// <summary>fsync through the OS. On Linux a directory is opened and fsynced; elsewhere only files are synced.</summary>
internal sealed partial class OsFileSync : IFileSync
{
    private const int OpenReadOnlyCloseOnExec = 0x80000;
    private const int ErrorInvalidArgument = 22;
    private const int ErrorNotSupported = 95;

    public static OsFileSync Instance { get; } = new();

    /// <inheritdoc />
    public void SyncFile(FileStream file)
    {
        // .NET throws an IOException when fsync fails, except on file systems that do not support it at all.
        file.Flush(flushToDisk: true);
    }

    /// <inheritdoc />
    public void SyncDirectory(string folder)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(folder, OpenReadOnlyCloseOnExec);
        if (fd < 0)
        {
            throw Failure("open", folder, Marshal.GetLastPInvokeError());
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var error = Marshal.GetLastPInvokeError();

                // As for files: a file system that cannot sync a directory at all is not a failed write.
                if (error is not (ErrorInvalidArgument or ErrorNotSupported))
                {
                    throw Failure("fsync", folder, error);
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static IOException Failure(string call, string folder, int error) =>
        new($"Could not make '{folder}' durable: {call} failed with errno {error} ({Marshal.GetPInvokeErrorMessage(error)}).", error);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

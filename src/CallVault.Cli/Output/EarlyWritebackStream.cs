using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CallVault.Cli.Output;

/// <summary>
/// A file being written in order that asks the kernel to start writing each <see cref="IntervalBytes"/> it receives to
/// the device, without waiting for it (Linux <c>sync_file_range</c> with <c>SYNC_FILE_RANGE_WRITE</c>).
/// <para>
/// Why: a download is durable only after the fsync at its end, and an fsync of a file whose gigabyte is still in the page
/// cache waits for all of it (0.9 s for 1.5 GiB measured here, a quarter of the download). Started while the download
/// runs, that writing overlaps the network and the hash, and the final fsync finds little left. Nothing is promised
/// before that fsync: the call only starts writeback, its errors are ignored (the fsync reports a failed write), and on
/// other systems it does nothing.
/// </para>
/// </summary>
internal sealed partial class EarlyWritebackStream : Stream
{
    /// <summary>Bytes written between two writeback requests: 8 MiB, enough to keep the device busy in large requests.</summary>
    public const long IntervalBytes = 8 * 1024 * 1024;

    private const uint SyncFileRangeWrite = 2;

    private readonly FileStream _file;
    private long _writebackFrom;

    /// <param name="file">The file, positioned where the next write goes.</param>
    public EarlyWritebackStream(FileStream file)
    {
        _file = file;
        _writebackFrom = file.Position;
    }

    /// <summary>Writeback requests made so far (for tests).</summary>
    public int WritebackRequests { get; private set; }

    public override bool CanRead => _file.CanRead;

    public override bool CanSeek => _file.CanSeek;

    public override bool CanWrite => _file.CanWrite;

    public override long Length => _file.Length;

    public override long Position
    {
        get => _file.Position;
        set
        {
            _file.Position = value;
            _writebackFrom = Math.Min(_writebackFrom, value);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        StartWritebackWhenDue();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        _file.Write(buffer, offset, count);
        StartWritebackWhenDue();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _file.Write(buffer);
        StartWritebackWhenDue();
    }

    public override int Read(byte[] buffer, int offset, int count) => _file.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _file.ReadAsync(buffer, cancellationToken);

    public override long Seek(long offset, SeekOrigin origin)
    {
        var position = _file.Seek(offset, origin);
        _writebackFrom = Math.Min(_writebackFrom, position);
        return position;
    }

    public override void SetLength(long value)
    {
        _file.SetLength(value);
        _writebackFrom = Math.Min(_writebackFrom, value);
    }

    public override void Flush() => _file.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _file.FlushAsync(cancellationToken);

    private void StartWritebackWhenDue()
    {
        var end = _file.Position;
        if (end - _writebackFrom < IntervalBytes)
        {
            return;
        }

        if (OperatingSystem.IsLinux())
        {
            // The FileStream has no buffer of its own (bufferSize 1), so the bytes up to its position are in the kernel.
            _ = SyncFileRange(_file.SafeFileHandle, _writebackFrom, end - _writebackFrom, SyncFileRangeWrite);
            WritebackRequests++;
        }

        _writebackFrom = end;
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range")]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long count, uint flags);
}

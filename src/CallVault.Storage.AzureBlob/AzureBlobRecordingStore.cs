using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace CallVault.Storage.AzureBlob;

/// <summary>
/// Keeps recordings in an Azure Blob Storage container. A chunk is uploaded as staged blocks while it downloads and
/// committed (the block list) once complete, so it becomes visible whole or not at all. Block ids are derived from
/// the block's position, so after a restart the staged blocks that form a prefix of the object are found again and
/// the download resumes after them instead of starting from zero.
/// </summary>
public sealed class AzureBlobRecordingStore : IRecordingStore
{
    private readonly BlobContainerClient _container;
    private readonly int _blockSize;
    private int _containerReady;

    /// <summary>Creates the store.</summary>
    /// <param name="container">The container; created on first use when missing.</param>
    /// <param name="blockSize">Bytes per staged block, 256 KiB to 100 MiB; the most that a crash loses.</param>
    public AzureBlobRecordingStore(BlobContainerClient container, int blockSize = AzureBlobStorageOptions.DefaultBlockSize)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 256 * 1024);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, 100 * 1024 * 1024);
        _container = container;
        _blockSize = blockSize;
    }

    /// <inheritdoc />
    public async Task<IResumableUpload> OpenUploadAsync(string path, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlockBlobClient(BlobName(path));
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var persisted = 0L;
        var blocks = 0;
        try
        {
            var list = await blob.GetBlockListAsync(BlockListTypes.Uncommitted, cancellationToken: cancellationToken).ConfigureAwait(false);
            var staged = list.Value.UncommittedBlocks.ToDictionary(b => b.Name, b => b.SizeLong, StringComparer.Ordinal);

            // Only an unbroken run of full blocks from the start is a usable prefix.
            while (staged.TryGetValue(BlockId(blocks), out var size) && size == _blockSize)
            {
                persisted += size;
                blocks++;
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No blob and no staged blocks yet.
        }

        return new BlockUpload(blob, _blockSize, blocks, persisted);
    }

    /// <inheritdoc />
    public async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobName(path));
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        await blob.UploadAsync(BinaryData.FromBytes(content), overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobName(path));
        try
        {
            return await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task CheckWritableAsync(CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var probe = _container.GetBlobClient($".probe-{Guid.NewGuid():N}");
        await probe.UploadAsync(BinaryData.FromBytes([1]), cancellationToken).ConfigureAwait(false);
        await probe.DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static string BlobName(string path) =>
        RecordingLayout.IsValidPath(path) ? path : throw new ArgumentException($"'{path}' is not a valid store path.", nameof(path));

    private static string BlockId(int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes("callvault-" + index.ToString("D6", CultureInfo.InvariantCulture)));

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady) == 0)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _containerReady, 1);
        }
    }

    /// <summary>A write-only stream that stages a block each time its buffer fills, then commits them in order.</summary>
    private sealed class BlockUpload : Stream, IResumableUpload
    {
        private readonly BlockBlobClient _blob;
        private readonly byte[] _buffer;
        private int _filled;
        private int _blocks;
        private long _position;

        public BlockUpload(BlockBlobClient blob, int blockSize, int stagedBlocks, long persisted)
        {
            _blob = blob;
            _buffer = ArrayPool<byte>.Shared.Rent(blockSize);
            BlockSize = blockSize;
            _blocks = stagedBlocks;
            _position = persisted;
            PersistedLength = persisted;
        }

        public long PersistedLength { get; }

        public Stream Content => this;

        public bool CanHashPersisted => false;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _position;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        private int BlockSize { get; }

        public Task HashPersistedAsync(IncrementalHash hash, CancellationToken cancellationToken) =>
            throw new NotSupportedException("Staged blocks cannot be read back before they are committed.");

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            if (_filled > 0)
            {
                await StageAsync(cancellationToken).ConfigureAwait(false);
            }

            await _blob.CommitBlockListAsync(Enumerable.Range(0, _blocks).Select(BlockId), cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (!buffer.IsEmpty)
            {
                var count = Math.Min(BlockSize - _filled, buffer.Length);
                buffer[..count].CopyTo(_buffer.AsMemory(_filled));
                _filled += count;
                _position += count;
                buffer = buffer[count..];
                if (_filled == BlockSize)
                {
                    await StageAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException("A blob upload can only be appended to.");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            base.Dispose(disposing);
        }

        private async Task StageAsync(CancellationToken cancellationToken)
        {
            using var content = new MemoryStream(_buffer, 0, _filled, writable: false);
            await _blob.StageBlockAsync(BlockId(_blocks), content, cancellationToken: cancellationToken).ConfigureAwait(false);
            CallVault.Diagnostics.CrashPoint.Hit("blob.after-stage");
            _blocks++;
            _filled = 0;
        }
    }
}

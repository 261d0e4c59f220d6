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
/// committed (the block list) once complete, so it becomes visible whole or not at all. A block's id holds its position
/// and the SHA-256 of its bytes, so after a restart the staged blocks that form a prefix of the object are found again
/// and the download resumes after them instead of starting from zero. Commits and write-once objects are conditional
/// (<c>If-None-Match: *</c>): an existing blob is never replaced; when one is found, it is compared with what was
/// staged, and only identical bytes count as success.
/// </summary>
public sealed class AzureBlobRecordingStore : IRecordingStore
{
    /// <summary>How a block id starts; then the block's index (6 digits), <c>-</c> and 48 hex digits of its SHA-256.</summary>
    private const string BlockIdPrefix = "cv1-";
    private const int BlockHashHexLength = 48;
    private const int BlockIdLength = 4 + 6 + 1 + BlockHashHexLength;

    /// <summary>Ids from before block ids carried a hash (<c>callvault-000000</c>); the service refuses ids of mixed lengths on one blob.</summary>
    private const int LegacyBlockIdLength = 16;

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
        IReadOnlyList<BlobBlock> staged = [];
        try
        {
            var list = await blob.GetBlockListAsync(BlockListTypes.Uncommitted, cancellationToken: cancellationToken).ConfigureAwait(false);
            staged = [.. list.Value.UncommittedBlocks];
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No blob and no staged blocks yet.
        }

        if (staged.Any(b => DecodedLength(b.Name) == LegacyBlockIdLength))
        {
            // Staged by an earlier version: their content is unknown, and new ids may not be mixed with them. Start over
            // under ids of the old length (restaging an id replaces its block).
            return new BlockUpload(blob, _blockSize, legacyIds: true, []);
        }

        return new BlockUpload(blob, _blockSize, legacyIds: false, UsablePrefix(staged, _blockSize));
    }

    /// <inheritdoc />
    public async Task WriteOnceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobName(path));
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var options = new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };
            await blob.UploadAsync(BinaryData.FromBytes(content), options, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            var existing = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToMemory();
            if (!existing.Span.SequenceEqual(content.Span))
            {
                throw new StoredObjectConflictException(path, existing.Length, content.Length);
            }
        }
    }

    /// <inheritdoc />
    public async Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
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

    /// <inheritdoc />
    /// <remarks>Deletes the blob with its snapshots; staged blocks of an upload never committed expire on their own.</remarks>
    public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobName(path));
        try
        {
            var response = await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The container itself is gone: nothing to delete.
            return false;
        }
    }

    /// <summary>The id of block <paramref name="index"/> holding <paramref name="content"/>: position and content hash.</summary>
    internal static string BlockId(int index, ReadOnlySpan<byte> content) =>
        EncodeId(BlockIdPrefix + index.ToString("D6", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(SHA256.HashData(content))[..BlockHashHexLength]);

    /// <summary>The id an earlier version gave block <paramref name="index"/>.</summary>
    internal static string LegacyBlockId(int index) =>
        EncodeId("callvault-" + index.ToString("D6", CultureInfo.InvariantCulture));

    private static string EncodeId(string id) => Convert.ToBase64String(Encoding.ASCII.GetBytes(id));

    private static int DecodedLength(string name)
    {
        Span<byte> bytes = stackalloc byte[64];
        return Convert.TryFromBase64String(name, bytes, out var written) ? written : -1;
    }

    /// <summary>
    /// The staged blocks usable as a prefix: block 0, 1, 2, ... each present once with a full block's size. A block of
    /// another size (an attempt with another block size, or the short last block of an attempt that was committing)
    /// ends the prefix, and so does an index staged twice with different content, which cannot be told apart.
    /// </summary>
    private static List<StagedBlock> UsablePrefix(IReadOnlyList<BlobBlock> staged, int blockSize)
    {
        var byIndex = new Dictionary<int, List<StagedBlock>>();
        foreach (var block in staged)
        {
            if (ParseBlockId(block.Name) is { } parsed && block.SizeLong == blockSize)
            {
                (byIndex.TryGetValue(parsed.Index, out var list) ? list : byIndex[parsed.Index] = []).Add(new StagedBlock(block.Name, block.SizeLong, parsed.Hash));
            }
        }

        var prefix = new List<StagedBlock>();
        while (byIndex.TryGetValue(prefix.Count, out var candidates) && candidates.Count == 1)
        {
            prefix.Add(candidates[0]);
        }

        return prefix;
    }

    private static (int Index, string Hash)? ParseBlockId(string name)
    {
        Span<byte> bytes = stackalloc byte[64];
        if (!Convert.TryFromBase64String(name, bytes, out var written) || written != BlockIdLength)
        {
            return null;
        }

        var text = Encoding.ASCII.GetString(bytes[..written]);
        return text.StartsWith(BlockIdPrefix, StringComparison.Ordinal)
            && text[10] == '-'
            && int.TryParse(text.AsSpan(4, 6), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? (index, text[11..])
            : null;
    }

    private static string BlobName(string path) =>
        RecordingLayout.IsValidPath(path) ? path : throw new ArgumentException($"'{path}' is not a valid store path.", nameof(path));

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady) == 0)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _containerReady, 1);
        }
    }

    /// <summary>A staged block: its id, size in bytes and the leading hex digits of its SHA-256.</summary>
    private sealed record StagedBlock(string Id, long Size, string Hash);

    /// <summary>A write-only stream that stages a block each time its buffer fills, then commits them in order.</summary>
    private sealed class BlockUpload : Stream, IResumableUpload
    {
        private readonly BlockBlobClient _blob;
        private readonly byte[] _buffer;
        private readonly bool _legacyIds;
        private readonly List<StagedBlock> _blocks;
        private int _filled;
        private long _position;

        public BlockUpload(BlockBlobClient blob, int blockSize, bool legacyIds, List<StagedBlock> prefix)
        {
            _blob = blob;
            _buffer = ArrayPool<byte>.Shared.Rent(blockSize);
            BlockSize = blockSize;
            _legacyIds = legacyIds;
            _blocks = prefix;
            _position = prefix.Sum(b => b.Size);
            PersistedLength = _position;
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

            try
            {
                var options = new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };
                await _blob.CommitBlockListAsync(_blocks.Select(b => b.Id), options, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // A blob is already there: a retry after a crash that followed an earlier commit (the same bytes, fine),
                // or another object given this path (refused; the stored blob is untouched).
                var existingLength = await ExistingLengthIfDifferentAsync(cancellationToken).ConfigureAwait(false);
                if (existingLength is { } length)
                {
                    throw new StoredObjectConflictException(_blob.Name, length, _position);
                }
            }
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

        /// <summary>Null when the existing blob holds exactly the staged bytes; otherwise its length.</summary>
        private async Task<long?> ExistingLengthIfDifferentAsync(CancellationToken cancellationToken)
        {
            var properties = await _blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var length = properties.Value.ContentLength;
            if (length != _position)
            {
                return length;
            }

            // Committed from the very same blocks (the common retry): the ids carry position and content hash.
            var committed = await _blob.GetBlockListAsync(BlockListTypes.Committed, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (committed.Value.CommittedBlocks.Select(b => (b.Name, b.SizeLong)).SequenceEqual(_blocks.Select(b => (b.Id, b.Size))) && !_legacyIds)
            {
                return null;
            }

            // Otherwise read the blob back range by range and compare each with the hash of the block staged for it.
            var offset = 0L;
            foreach (var block in _blocks)
            {
                var range = await _blob.DownloadContentAsync(
                    new BlobDownloadOptions { Range = new HttpRange(offset, block.Size), Conditions = new BlobRequestConditions { IfMatch = properties.Value.ETag } },
                    cancellationToken).ConfigureAwait(false);
                var hash = Convert.ToHexStringLower(SHA256.HashData(range.Value.Content.ToMemory().Span));
                if (!hash.StartsWith(block.Hash, StringComparison.Ordinal))
                {
                    return length;
                }

                offset += block.Size;
            }

            return null;
        }

        private async Task StageAsync(CancellationToken cancellationToken)
        {
            var bytes = _buffer.AsMemory(0, _filled);
            var hash = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
            var id = _legacyIds ? LegacyBlockId(_blocks.Count) : BlockId(_blocks.Count, bytes.Span);
            using var content = new MemoryStream(_buffer, 0, _filled, writable: false);
            await _blob.StageBlockAsync(id, content, cancellationToken: cancellationToken).ConfigureAwait(false);
            CallVault.Diagnostics.CrashPoint.Hit("blob.after-stage");
            _blocks.Add(new StagedBlock(id, _filled, hash));
            _filled = 0;
        }
    }
}

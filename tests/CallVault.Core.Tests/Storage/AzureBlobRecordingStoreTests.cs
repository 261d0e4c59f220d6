using System.Security.Cryptography;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using CallVault.Storage;
using CallVault.Storage.AzureBlob;
using CallVault.Testing;

namespace CallVault.Core.Tests.Storage;

/// <summary>The recording-store contract on Azure Blob Storage, through the run's Azurite, one container per test.</summary>
public sealed class AzureBlobRecordingStoreTests : RecordingStoreContract
{
    private const int BlockSize = 256 * 1024;
    private readonly string _containerName = "test-" + Guid.NewGuid().ToString("N");
    private readonly StagedBytesCounter _staged = new();
    private readonly BlobContainerClient _container;

    public AzureBlobRecordingStoreTests()
    {
        var options = new BlobClientOptions();
        options.AddPolicy(_staged, HttpPipelinePosition.PerCall);
        _container = new BlobServiceClient(TestServices.Azurite, options).GetBlobContainerClient(_containerName);
    }

    protected override Task<IRecordingStore> CreateStoreAsync() =>
        Task.FromResult<IRecordingStore>(new AzureBlobRecordingStore(_container, blockSize: BlockSize));

    public override async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    protected override async Task<IReadOnlyList<string>> ListObjectsAsync()
    {
        var names = new List<string>();
        await foreach (var blob in _container.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }

    /// <summary>What a crash costs is at most one block: the persisted prefix ends on a block boundary.</summary>
    [Fact]
    public async Task Interrupted_PersistsWholeBlocksOnly()
    {
        await using (var upload = await Store.OpenUploadAsync("x/chunk-000.wav", default))
        {
            await upload.Content.WriteAsync(new byte[(3 * BlockSize) + 1000]);
        }

        await using var resumed = await Store.OpenUploadAsync("x/chunk-000.wav", default);

        Assert.Equal(3 * BlockSize, resumed.PersistedLength);
    }

    /// <summary>
    /// A kill mid-upload (the upload object dropped, never committed): the restart resumes after the staged full blocks,
    /// sends only the rest, and the committed object is byte-identical to the source.
    /// </summary>
    [Fact]
    public async Task Upload_KilledMidUploadThenRestarted_ResumesFromStagedBlocksWithoutResendingThem()
    {
        var content = RandomNumberGenerator.GetBytes((5 * BlockSize) + 777);
        var killed = await Store.OpenUploadAsync("k/chunk-000.wav", default);
        await killed.Content.WriteAsync(content.AsMemory(0, (3 * BlockSize) + 1000));
        Assert.Equal(3L * BlockSize, _staged.Bytes);

        // The process dies here: no commit, no dispose; the next process opens the same path.
        _staged.Reset();
        await using (var resumed = await Store.OpenUploadAsync("k/chunk-000.wav", default))
        {
            Assert.Equal(3 * BlockSize, resumed.PersistedLength);
            await resumed.Content.WriteAsync(content.AsMemory((int)resumed.PersistedLength));
            await resumed.CommitAsync(default);
        }

        Assert.Equal(content.Length - (3L * BlockSize), _staged.Bytes);
        var stored = await ReadAllAsync("k/chunk-000.wav");
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(stored));
        Assert.Equal(content, stored);
    }

    /// <summary>Blocks staged by an attempt with another block size are not a usable prefix: the upload starts over and is still right.</summary>
    [Fact]
    public async Task Upload_StagedBlocksOfAnotherBlockSize_AreNotResumedAndTheCommitIsRight()
    {
        var content = RandomNumberGenerator.GetBytes((4 * BlockSize) + 5);
        var larger = new AzureBlobRecordingStore(_container, blockSize: 2 * BlockSize);
        var earlier = await larger.OpenUploadAsync("s/chunk-000.wav", default);
        await earlier.Content.WriteAsync(content.AsMemory(0, (4 * BlockSize) + 1));

        await using (var resumed = await Store.OpenUploadAsync("s/chunk-000.wav", default))
        {
            Assert.Equal(0, resumed.PersistedLength);
            await resumed.Content.WriteAsync(content);
            await resumed.CommitAsync(default);
        }

        Assert.Equal(content, await ReadAllAsync("s/chunk-000.wav"));
    }

    /// <summary>A staged block of the wrong size in the middle (the short last block of an attempt that was committing) ends the usable prefix.</summary>
    [Fact]
    public async Task Upload_StagedBlockOfTheWrongSize_EndsThePrefixAndTheCommitIsRight()
    {
        var content = RandomNumberGenerator.GetBytes((4 * BlockSize) + 9);
        var blob = _container.GetBlockBlobClient("w/chunk-000.wav");
        await _container.CreateIfNotExistsAsync();
        await StageAsync(blob, 0, content.AsMemory(0, BlockSize));
        await StageAsync(blob, 1, content.AsMemory(BlockSize, 1000));
        await StageAsync(blob, 2, content.AsMemory(2 * BlockSize, BlockSize));

        await using (var resumed = await Store.OpenUploadAsync("w/chunk-000.wav", default))
        {
            Assert.Equal(BlockSize, resumed.PersistedLength);
            await resumed.Content.WriteAsync(content.AsMemory(BlockSize));
            await resumed.CommitAsync(default);
        }

        Assert.Equal(content, await ReadAllAsync("w/chunk-000.wav"));
    }

    /// <summary>Two staged blocks for one index with different bytes cannot be told apart: the prefix stops before them.</summary>
    [Fact]
    public async Task Upload_TwoDifferentStagedBlocksForOneIndex_AreNotResumed()
    {
        var content = RandomNumberGenerator.GetBytes(3 * BlockSize);
        var blob = _container.GetBlockBlobClient("t/chunk-000.wav");
        await _container.CreateIfNotExistsAsync();
        await StageAsync(blob, 0, content.AsMemory(0, BlockSize));
        await StageAsync(blob, 1, content.AsMemory(BlockSize, BlockSize));
        await StageAsync(blob, 1, RandomNumberGenerator.GetBytes(BlockSize));

        await using var resumed = await Store.OpenUploadAsync("t/chunk-000.wav", default);

        Assert.Equal(BlockSize, resumed.PersistedLength);
    }

    /// <summary>Blocks staged by a version whose block ids had no hash: the upload starts over (ids of mixed lengths are refused) and commits right.</summary>
    [Fact]
    public async Task Upload_BlocksStagedUnderLegacyIds_StartsOverAndCommitsRight()
    {
        var content = RandomNumberGenerator.GetBytes((2 * BlockSize) + 3);
        var blob = _container.GetBlockBlobClient("l/chunk-000.wav");
        await _container.CreateIfNotExistsAsync();
        using (var stream = new MemoryStream(content, 0, BlockSize))
        {
            await blob.StageBlockAsync(AzureBlobRecordingStore.LegacyBlockId(0), stream);
        }

        await using (var resumed = await Store.OpenUploadAsync("l/chunk-000.wav", default))
        {
            Assert.Equal(0, resumed.PersistedLength);
            await resumed.Content.WriteAsync(content);
            await resumed.CommitAsync(default);
        }

        Assert.Equal(content, await ReadAllAsync("l/chunk-000.wav"));
    }

    /// <summary>A blob written another way (one Put Blob, no block list of ours) with the same bytes: a commit over it is a success.</summary>
    [Fact]
    public async Task Upload_CommittedOverTheSameBytesWrittenAnotherWay_Succeeds()
    {
        var content = RandomNumberGenerator.GetBytes((2 * BlockSize) + 3);
        await _container.CreateIfNotExistsAsync();
        await _container.GetBlobClient("o/chunk-000.wav").UploadAsync(BinaryData.FromBytes(content));

        await using (var upload = await Store.OpenUploadAsync("o/chunk-000.wav", default))
        {
            await upload.Content.WriteAsync(content);
            await upload.CommitAsync(default);
        }

        Assert.Equal(content, await ReadAllAsync("o/chunk-000.wav"));
    }

    [Fact]
    public void Factory_WithoutConnectionStringOrAccountUrl_SaysWhatToSet()
    {
        var error = Assert.Throws<InvalidOperationException>(() => AzureBlobRecordingStoreFactory.Create(new AzureBlobStorageOptions()));

        Assert.Contains("CallVault:Storage:AzureBlob:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    private static async Task StageAsync(BlockBlobClient blob, int index, ReadOnlyMemory<byte> bytes)
    {
        using var stream = new MemoryStream(bytes.ToArray());
        await blob.StageBlockAsync(AzureBlobRecordingStore.BlockId(index, bytes.Span), stream);
    }

    private async Task<byte[]> ReadAllAsync(string path)
    {
        await using var stream = await Store.OpenReadAsync(path, default) ?? throw new InvalidOperationException($"{path} is missing");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Counts the body bytes of Put Block requests: what an upload actually sends to storage.</summary>
    private sealed class StagedBytesCounter : HttpPipelinePolicy
    {
        private long _bytes;

        public long Bytes => Interlocked.Read(ref _bytes);

        public void Reset() => Interlocked.Exchange(ref _bytes, 0);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Count(message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Count(message);
            return ProcessNextAsync(message, pipeline);
        }

        private void Count(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Put
                && message.Request.Uri.Query.Contains("comp=block", StringComparison.Ordinal)
                && !message.Request.Uri.Query.Contains("comp=blocklist", StringComparison.Ordinal)
                && message.Request.Content?.TryComputeLength(out var length) == true)
            {
                Interlocked.Add(ref _bytes, length);
            }
        }
    }
}

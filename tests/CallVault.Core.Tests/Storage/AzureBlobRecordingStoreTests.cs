using Azure.Storage.Blobs;
using CallVault.Storage;
using CallVault.Storage.AzureBlob;
using CallVault.Testing;

namespace CallVault.Core.Tests.Storage;

/// <summary>The recording-store contract on Azure Blob Storage, through the run's Azurite, one container per test.</summary>
public sealed class AzureBlobRecordingStoreTests : RecordingStoreContract
{
    private readonly BlobContainerClient _container = new BlobServiceClient(TestServices.Azurite).GetBlobContainerClient("test-" + Guid.NewGuid().ToString("N"));

    protected override Task<IRecordingStore> CreateStoreAsync() =>
        Task.FromResult<IRecordingStore>(new AzureBlobRecordingStore(_container, blockSize: 256 * 1024));

    public override async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    /// <summary>What a crash costs is at most one block: the persisted prefix ends on a block boundary.</summary>
    [Fact]
    public async Task Interrupted_PersistsWholeBlocksOnly()
    {
        await using (var upload = await Store.OpenUploadAsync("x/chunk-000.wav", default))
        {
            await upload.Content.WriteAsync(new byte[(3 * 256 * 1024) + 1000]);
        }

        await using var resumed = await Store.OpenUploadAsync("x/chunk-000.wav", default);

        Assert.Equal(3 * 256 * 1024, resumed.PersistedLength);
    }

    [Fact]
    public void Factory_WithoutConnectionStringOrAccountUrl_SaysWhatToSet()
    {
        var error = Assert.Throws<InvalidOperationException>(() => AzureBlobRecordingStoreFactory.Create(new AzureBlobStorageOptions()));

        Assert.Contains("CallVault:Storage:AzureBlob:ConnectionString", error.Message, StringComparison.Ordinal);
    }
}

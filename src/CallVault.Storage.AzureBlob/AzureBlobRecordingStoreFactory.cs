using Azure.Identity;
using Azure.Storage.Blobs;

namespace CallVault.Storage.AzureBlob;

/// <summary>Builds the store from its options: a connection string, or an account URL with <c>DefaultAzureCredential</c>.</summary>
public static class AzureBlobRecordingStoreFactory
{
    /// <summary>Creates the store.</summary>
    /// <exception cref="InvalidOperationException">Neither a connection string nor an account URL is configured.</exception>
    public static AzureBlobRecordingStore Create(AzureBlobStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var service = options switch
        {
            { ConnectionString: { Length: > 0 } connectionString } => new BlobServiceClient(connectionString),
            { AccountUrl: { } accountUrl } => new BlobServiceClient(accountUrl, new DefaultAzureCredential()),
            _ => throw new InvalidOperationException("Set CallVault:Storage:AzureBlob:ConnectionString, or CallVault:Storage:AzureBlob:AccountUrl to sign in with DefaultAzureCredential."),
        };
        return new AzureBlobRecordingStore(service.GetBlobContainerClient(options.ContainerName), options.BlockSizeBytes);
    }
}

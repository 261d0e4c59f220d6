using System.Collections.Concurrent;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CallVault.Byos;

namespace CallVault.Storage.AzureBlob;

/// <summary>
/// Reads exported recordings from the containers configured under <c>CallVault:Byos</c>: with the container's
/// connection string, or else with <c>DefaultAzureCredential</c> on its URL.
/// </summary>
public sealed class AzureExportedBlobReader(ExportedBlobLocations locations) : IExportedBlobReader
{
    private readonly ConcurrentDictionary<string, BlobContainerClient> _containers = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<Stream?> OpenReadAsync(ExportedBlob blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var client = _containers.GetOrAdd(blob.Container, Create).GetBlobClient(blob.BlobName);
        try
        {
            return await client.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    private BlobContainerClient Create(string name)
    {
        var container = locations.Container(name) ?? throw new InvalidOperationException($"The export container '{name}' is not configured under {ByosOptions.SectionName}.");
        var url = container.ContainerUrl!;
        if (string.IsNullOrWhiteSpace(container.ConnectionString))
        {
            return new BlobContainerClient(url, new DefaultAzureCredential());
        }

        var path = url.AbsolutePath.Trim('/');
        return new BlobContainerClient(container.ConnectionString, path[(path.LastIndexOf('/') + 1)..]);
    }
}

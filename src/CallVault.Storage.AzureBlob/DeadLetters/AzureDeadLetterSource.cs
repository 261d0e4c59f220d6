using System.Runtime.CompilerServices;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CallVault.Recovery;

namespace CallVault.Storage.AzureBlob.DeadLetters;

/// <summary>An Event Grid dead-letter container in Azure Blob Storage, read with the Blob SDK.</summary>
/// <param name="container">The container the subscription dead-letters into.</param>
public sealed class AzureDeadLetterSource(BlobContainerClient container) : IDeadLetterSource
{
    /// <summary>Connects to the container the options name: a connection string, or an account URL with <c>DefaultAzureCredential</c>.</summary>
    /// <exception cref="InvalidOperationException">Neither a connection string nor an account URL is configured.</exception>
    public static AzureDeadLetterSource Create(DeadLetterRecoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var service = options switch
        {
            { ConnectionString: { Length: > 0 } connectionString } => new BlobServiceClient(connectionString),
            { AccountUrl: { } accountUrl } => new BlobServiceClient(accountUrl, new DefaultAzureCredential()),
            _ => throw new InvalidOperationException($"Set {DeadLetterRecoveryOptions.SectionName}:ConnectionString, or :AccountUrl to sign in with DefaultAzureCredential."),
        };
        return new AzureDeadLetterSource(service.GetBlobContainerClient(options.ContainerName));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<DeadLetterBlobRef> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A flat listing is recursive: every blob under every virtual folder, whatever the prefix.
        await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: null, cancellationToken).ConfigureAwait(false))
        {
            yield return new DeadLetterBlobRef(item.Name, item.Properties.ETag?.ToString() ?? string.Empty);
        }
    }

    /// <inheritdoc />
    public async Task<DeadLetterBlobRead> ReadAsync(DeadLetterBlobRef blob, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var client = container.GetBlobClient(blob.Name);
        var pinned = new BlobRequestConditions { IfMatch = new ETag(blob.ETag) };
        try
        {
            var properties = await client.GetPropertiesAsync(pinned, cancellationToken).ConfigureAwait(false);
            if (properties.Value.ContentLength > maxBytes)
            {
                return new DeadLetterBlobRead.TooLarge(properties.Value.ContentLength);
            }

            // Pinned to the listed ETag: a blob rewritten between the listing and the read is read at the next pass,
            // under its new ETag, rather than marked done with bytes it no longer has.
            var content = await client.DownloadContentAsync(new BlobDownloadOptions { Conditions = pinned }, cancellationToken).ConfigureAwait(false);
            return new DeadLetterBlobRead.Read(content.Value.Content);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return new DeadLetterBlobRead.Changed();
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(DeadLetterBlobRef blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        try
        {
            await container.GetBlobClient(blob.Name).DeleteAsync(DeleteSnapshotsOption.IncludeSnapshots, new BlobRequestConditions { IfMatch = new ETag(blob.ETag) }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Gone already, or rewritten with new events that the next pass reads.
        }
    }
}

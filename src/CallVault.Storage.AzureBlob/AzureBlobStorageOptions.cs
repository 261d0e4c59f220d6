using System.ComponentModel.DataAnnotations;

namespace CallVault.Storage.AzureBlob;

/// <summary>Where recordings go in Azure Blob Storage: section <c>CallVault:Storage:AzureBlob</c>.</summary>
public sealed class AzureBlobStorageOptions
{
    /// <summary>The default block size: 8 MiB.</summary>
    public const int DefaultBlockSize = 8 * 1024 * 1024;

    /// <summary>A storage connection string. Either this or <see cref="AccountUrl"/> (with <c>DefaultAzureCredential</c>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The account's blob endpoint, e.g. <c>https://contoso.blob.core.windows.net</c>, used with <c>DefaultAzureCredential</c>.</summary>
    public Uri? AccountUrl { get; set; }

    /// <summary>The container. Default <c>recordings</c>.</summary>
    [Required]
    public string ContainerName { get; set; } = "recordings";

    /// <summary>Bytes per staged block: what a crash can cost at most. Default 8 MiB; 256 KiB to 100 MiB.</summary>
    [Range(256 * 1024, 100 * 1024 * 1024)]
    public int BlockSizeBytes { get; set; } = DefaultBlockSize;
}

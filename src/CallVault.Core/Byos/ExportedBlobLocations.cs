using Microsoft.Extensions.Options;

namespace CallVault.Byos;

/// <summary>A blob in one of the configured export containers.</summary>
/// <param name="Container">The container's configured name.</param>
/// <param name="BlobName">The blob's name in it (unescaped).</param>
public sealed record ExportedBlob(string Container, string BlobName)
{
    /// <summary>The prefix of store paths that name exported blobs rather than objects CallVault stored itself.</summary>
    public const string StorePathPrefix = "byos/";

    /// <summary>The path the job store and the manifest record for this blob: <c>byos/{container}/{blob}</c>.</summary>
    public string StorePath => $"{StorePathPrefix}{Container}/{BlobName}";

    /// <summary>The blob a store path names, or null when the path is not an exported blob's.</summary>
    public static ExportedBlob? FromStorePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.StartsWith(StorePathPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path[StorePathPrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 || slash == rest.Length - 1 ? null : new ExportedBlob(rest[..slash], rest[(slash + 1)..]);
    }
}

/// <summary>
/// Tells whether a location an event names lies in one of the containers configured under <c>CallVault:Byos</c>, and
/// which blob it is. Nothing outside those containers is ever matched, so an event cannot make CallVault read a URL
/// of its choosing.
/// </summary>
public sealed class ExportedBlobLocations(IOptionsMonitor<ByosOptions> options)
{
    private const int MaxBlobNameLength = 1024;

    /// <summary>Whether any container is configured.</summary>
    public bool IsConfigured => options.CurrentValue.Containers.Count > 0;

    /// <summary>The configured blob <paramref name="location"/> names, or null when it names none.</summary>
    public ExportedBlob? Match(Uri? location)
    {
        if (location is not { IsAbsoluteUri: true } || !string.IsNullOrEmpty(location.Query) || !string.IsNullOrEmpty(location.Fragment)
            || !string.IsNullOrEmpty(location.UserInfo))
        {
            return null;
        }

        var normalized = Normalize(location);
        foreach (var (name, container) in options.CurrentValue.Containers)
        {
            if (container?.ContainerUrl is not { IsAbsoluteUri: true } containerUrl)
            {
                continue;
            }

            var prefix = Normalize(containerUrl) + "/";
            if (!normalized.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var blobName = Uri.UnescapeDataString(normalized[prefix.Length..]);
            return IsSafeBlobName(blobName) ? new ExportedBlob(name, blobName) : null;
        }

        return null;
    }

    /// <summary>The configured container of that name, or null.</summary>
    public ByosContainerOptions? Container(string name) =>
        options.CurrentValue.Containers.TryGetValue(name, out var container) ? container : null;

    /// <summary>The scheme and authority in lower case, then the escaped path without a trailing <c>/</c>.</summary>
    internal static string Normalize(Uri url) =>
        url.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + url.AbsolutePath.TrimEnd('/');

    /// <summary>The last path segment of a container URL (its name), or null when there is none.</summary>
    internal static string? ContainerNameOf(Uri url)
    {
        var path = url.AbsolutePath.Trim('/');
        return path.Length == 0 ? null : path[(path.LastIndexOf('/') + 1)..];
    }

    internal static bool LooksLikeConnectionString(string value) =>
        value.Contains("AccountName=", StringComparison.OrdinalIgnoreCase)
        || value.Contains("BlobEndpoint=", StringComparison.OrdinalIgnoreCase)
        || value.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);

    // An escaped '..' or control character must not turn into another path once unescaped.
    private static bool IsSafeBlobName(string blobName) =>
        blobName.Length is > 0 and <= MaxBlobNameLength
        && !blobName.Any(char.IsControl)
        && !blobName.Contains('\\', StringComparison.Ordinal)
        && blobName.Split('/').All(segment => segment.Length > 0 && segment is not ("." or ".."));
}

/// <summary>Reads blobs from the configured export containers (Azure Blob Storage).</summary>
public interface IExportedBlobReader
{
    /// <summary>Opens the blob for reading (seekable), or returns null when it does not exist.</summary>
    /// <exception cref="InvalidOperationException">The blob's container is not configured.</exception>
    Task<Stream?> OpenReadAsync(ExportedBlob blob, CancellationToken cancellationToken);
}

using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CallVault.Byos;

/// <summary>Checks <see cref="ByosOptions"/> at start-up and reports every problem, never quoting a connection string.</summary>
public sealed partial class ByosOptionsValidator : IValidateOptions<ByosOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ByosOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var urls = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (containerName, container) in options.Containers)
        {
            var where = $"{ByosOptions.SectionName}:Containers:{containerName}";
            if (!ContainerName().IsMatch(containerName))
            {
                errors.Add($"{where}: the name must be 1-32 lower-case letters, digits or '-'.");
            }

            if (container?.ContainerUrl is not { IsAbsoluteUri: true } url
                || !(url.Scheme == "https" || (url.Scheme == "http" && url.IsLoopback))
                || !string.IsNullOrEmpty(url.Query)
                || !string.IsNullOrEmpty(url.Fragment)
                || ExportedBlobLocations.ContainerNameOf(url) is null)
            {
                errors.Add($"{where}:ContainerUrl must be the absolute https URL of a blob container (http only on loopback, for Azurite), without a query, e.g. https://contoso.blob.core.windows.net/recordings.");
                continue;
            }

            // A folder inside a container would be matched against events but not be what the reader opens (it opens the
            // container the URL's last segment names), so only a container itself is accepted: one path segment, or two
            // on loopback, where Azurite puts the account name first.
            if (url.AbsolutePath.Trim('/').Split('/').Length > (url.IsLoopback ? 2 : 1))
            {
                errors.Add($"{where}:ContainerUrl must name a blob container, not a folder inside one, e.g. https://contoso.blob.core.windows.net/recordings.");
                continue;
            }

            if (!urls.Add(ExportedBlobLocations.Normalize(url)))
            {
                errors.Add($"{where}:ContainerUrl names a container that another entry names too.");
            }

            if (container.ConnectionString is { } connection && !ExportedBlobLocations.LooksLikeConnectionString(connection))
            {
                errors.Add($"{where}:ConnectionString is not a storage connection string (its value is not shown).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex("^[a-z0-9-]{1,32}$")]
    private static partial Regex ContainerName();
}

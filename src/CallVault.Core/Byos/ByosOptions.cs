namespace CallVault.Byos;

/// <summary>
/// Bring Your Own Storage: the customer containers ACS exports recordings into, which CallVault reads the files from
/// instead of downloading them from ACS. Section <c>CallVault:Byos</c>. Only the containers named here are ever read:
/// an event pointing anywhere else is handled as any other event (its locations must be allowed ACS hosts).
/// </summary>
public sealed class ByosOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "CallVault:Byos";

    /// <summary>
    /// The containers, by a short name of your choice (lower-case letters, digits and '-', at most 32 characters),
    /// which becomes part of the stored path (<c>byos/{name}/{blob}</c>). Default none.
    /// </summary>
    public Dictionary<string, ByosContainerOptions> Containers { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One container ACS exports recordings into.</summary>
public sealed class ByosContainerOptions
{
    /// <summary>
    /// The container's URL exactly as given to ACS in <c>externalStorage</c> and as the events name it, e.g.
    /// <c>https://contoso.blob.core.windows.net/recordings</c>; https (http only on loopback, for Azurite), no query (no SAS). Required.
    /// </summary>
    public Uri? ContainerUrl { get; set; }

    /// <summary>
    /// A storage connection string for the account. Without one, CallVault signs in to <see cref="ContainerUrl"/> with
    /// <c>DefaultAzureCredential</c>, whose identity needs <c>Storage Blob Data Reader</c> on the container.
    /// </summary>
    public string? ConnectionString { get; set; }
}

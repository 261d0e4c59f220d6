using System.ComponentModel.DataAnnotations;

namespace CallVault.Recovery;

/// <summary>
/// Where Event Grid writes the events it gave up on, and how often CallVault reads them back: section
/// <c>CallVault:Recovery:DeadLetter</c>. Off unless a container and either a connection string or an account URL are set.
/// </summary>
public sealed class DeadLetterRecoveryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "CallVault:Recovery:DeadLetter";

    /// <summary>A storage connection string. Either this or <see cref="AccountUrl"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The storage account's blob endpoint (e.g. <c>https://contoso.blob.core.windows.net</c>), signed in to with
    /// <c>DefaultAzureCredential</c>; the identity needs <c>Storage Blob Data Reader</c> on the container (Contributor
    /// with <see cref="DeleteAfterRecovery"/>).
    /// </summary>
    public Uri? AccountUrl { get; set; }

    /// <summary>The dead-letter container the subscription names in <c>--deadletter-endpoint</c>. No default.</summary>
    public string? ContainerName { get; set; }

    /// <summary>How often the container is listed. Default 1 minute; 1 second to 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Delete a blob once everything in it is committed. Default false: it is only marked done in the job database.</summary>
    public bool DeleteAfterRecovery { get; set; }

    /// <summary>
    /// The largest blob read, in bytes; a larger one is kept as a rejected event with the reason and not read.
    /// Default 64 MiB; 1 KiB to 1 GiB. (Event Grid events are at most 1 MB each; a blob holds one or a few.)
    /// </summary>
    [Range(1024, 1024 * 1024 * 1024)]
    public long MaxBlobBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long one instance's hold on polling lasts without renewal; a crashed instance's hold passes to another after
    /// this. Default 5 minutes; 10 seconds to 1 hour, and longer than <see cref="PollInterval"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many passes in a row a blob may fail (a read or commit error) before it is given up: kept as a rejected
    /// event with the reason and marked done. Default 5; 1 to 1,000. Counted by the polling instance in memory.
    /// </summary>
    [Range(1, 1000)]
    public int MaxBlobFailures { get; set; } = 5;

    /// <summary>Whether recovery is configured at all.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(ContainerName) || !string.IsNullOrWhiteSpace(ConnectionString) || AccountUrl is not null;
}

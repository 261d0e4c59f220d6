using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CallVault;

/// <summary>The service's configuration: section <c>CallVault</c> (environment variables <c>CallVault__...</c>).</summary>
public sealed class CallVaultOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "CallVault";

    /// <summary>Folder for the job database and, by default, the recordings. Default <c>data</c> (relative to the working folder).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Delete each chunk from ACS once its media and metadata are durably stored. Default false: ACS deletes it after
    /// its retention period anyway.
    /// </summary>
    public bool DeleteAfterDownload { get; set; }

    /// <summary>ACS's retention period, used to flag chunks at risk. Default 24 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan AcsRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>A chunk not stored this close to the end of retention is flagged. Default 4 hours.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RetentionWarning { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Where recordings are stored.</summary>
    [Required]
    [ValidateObjectMembers]
    public StorageOptions Storage { get; set; } = new();

    /// <summary>Where jobs are kept.</summary>
    [Required]
    public DatabaseOptions Database { get; set; } = new();

    /// <summary>How the Event Grid webhook authenticates and filters deliveries.</summary>
    [Required]
    [ValidateObjectMembers]
    public WebhookOptions Webhook { get; set; } = new();

    /// <summary>How chunks are downloaded.</summary>
    [Required]
    [ValidateObjectMembers]
    public WorkerOptions Worker { get; set; } = new();

    /// <summary>Who may use the read API, the dashboard and <c>/metrics</c>.</summary>
    [Required]
    public ApiOptions Api { get; set; } = new();

    /// <summary>How <c>/health/ready</c> probes what it reports.</summary>
    [Required]
    [ValidateObjectMembers]
    public HealthOptions Health { get; set; } = new();
}

/// <summary>How <c>/health/ready</c> probes the service's dependencies.</summary>
public sealed class HealthOptions
{
    /// <summary>
    /// How long the recording store's probe (a small object written and deleted) is reused before it is run again, so
    /// that a readiness probe polled every second, or by an attacker, does not write to the store on every request. A
    /// store that stops accepting writes is reported within this interval. Default 30 seconds; 1 second to 1 hour.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StoreProbeInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Access to the read API, the dashboard and <c>/metrics</c> (not the webhook, which has its own secret). With keys,
/// every request must carry one (<c>X-Api-Key</c> header or <c>api-key</c> query parameter). Without keys, only
/// requests from this machine are served, unless <see cref="AllowAnonymous"/> is set.
/// </summary>
public sealed class ApiOptions
{
    /// <summary>Accepted API keys (16+ characters each). Empty by default.</summary>
    public IList<string> Keys { get; } = [];

    /// <summary>Serve requests from other machines without a key (behind your own authenticating proxy). Default false.</summary>
    public bool AllowAnonymous { get; set; }
}

/// <summary>Where recordings are stored.</summary>
public enum StorageProvider
{
    /// <summary>A local folder. The default.</summary>
    Disk,

    /// <summary>An Azure Blob Storage container (section <c>CallVault:Storage:AzureBlob</c>).</summary>
    AzureBlob,
}

/// <summary>Where recordings are stored.</summary>
public sealed class StorageOptions
{
    /// <summary>The store. Default <see cref="StorageProvider.Disk"/>.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Disk;

    /// <summary>The folder for recordings on disk. Default <c>{DataDirectory}/recordings</c>.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// On disk, MiB an upload writes between fsync checkpoints: the most of a chunk's download that a crash or a power
    /// loss costs. 1 to 1024, default 8.
    /// </summary>
    [Range(1, 1024)]
    public int SyncIntervalMiB { get; set; } = 8;
}

/// <summary>Which database keeps the jobs.</summary>
public enum DatabaseProvider
{
    /// <summary>An embedded SQLite file: one CallVault process. The default.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database: several CallVault instances share the work.</summary>
    PostgreSql,
}

/// <summary>Where jobs are kept.</summary>
public sealed class DatabaseOptions
{
    /// <summary>The database. Default <see cref="DatabaseProvider.Sqlite"/>.</summary>
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>
    /// The connection string: for SQLite, default <c>Data Source={DataDirectory}/callvault.db</c>; for PostgreSQL,
    /// required (e.g. <c>Host=db;Username=callvault;Password=...;Database=callvault</c>).
    /// </summary>
    public string? ConnectionString { get; set; }
}

/// <summary>How the Event Grid webhook (<c>POST /api/events</c>) authenticates and filters deliveries.</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// Accepted secrets; a delivery must carry one in the query parameter or the header below. Several may be listed
    /// to rotate without dropping events. Empty by default, which refuses every delivery unless
    /// <see cref="AllowUnauthenticated"/> is set.
    /// </summary>
    public IList<string> Secrets { get; } = [];

    /// <summary>The query parameter carrying the secret. Default <c>code</c>.</summary>
    [Required]
    public string SecretQueryParameter { get; set; } = "code";

    /// <summary>The header carrying the secret (an Event Grid delivery property). Default <c>X-CallVault-Secret</c>.</summary>
    [Required]
    public string SecretHeader { get; set; } = "X-CallVault-Secret";

    /// <summary>Accept deliveries without a secret. Default false; only for a webhook that is not reachable from outside.</summary>
    public bool AllowUnauthenticated { get; set; }

    /// <summary>
    /// ACS resources (event topics, compared without regard to case) whose events and validation requests are accepted.
    /// Empty (default) accepts any.
    /// </summary>
    public IList<string> AllowedTopics { get; } = [];

    /// <summary>
    /// How long the service may go without an event before <c>/health/ready</c> turns Degraded, so that a subscription
    /// that stopped delivering (deleted, disabled, a wrong secret or address) is noticed before ACS's retention runs
    /// out. Set it from the call volume: a contact centre that records every few minutes might use <c>01:00:00</c>.
    /// Default none (no alert); at least 1 second.
    /// </summary>
    public TimeSpan? ExpectEventWithin { get; set; }

    /// <summary>The largest delivery accepted, in bytes. Default 1,114,112 (Event Grid's 1 MB plus headroom); 64 KiB to 16 MiB.</summary>
    [Range(64 * 1024, 16 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1_114_112;

    /// <summary>
    /// The most events waiting for, or in, the webhook's group commit; beyond it a delivery waits up to
    /// <see cref="QueueWait"/> for room and is then answered 503. Default 40,000 (two full commits, a few tens of MB);
    /// 1,000 to 1,000,000.
    /// </summary>
    [Range(1_000, 1_000_000)]
    public int MaxQueuedEvents { get; set; } = Jobs.GroupCommitEnqueuer.DefaultMaxQueuedEvents;

    /// <summary>
    /// How long a delivery waits for room in a full commit queue before it is answered 503 (Event Grid retries it).
    /// Default 5 seconds; 0 to 20 seconds, well inside Event Grid's 30-second timeout.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:20")]
    public TimeSpan QueueWait { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>How chunks are downloaded.</summary>
public sealed class WorkerOptions
{
    /// <summary>Chunks downloaded at once. Default 4; 1 to 64.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 4;

    /// <summary>How long a lease lasts without renewal; renewed every third of it. Default 2 minutes; 5 seconds to 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often an idle worker looks for due chunks (new deliveries wake it at once). Default 2 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Attempts before a chunk is dead-lettered. Default 12; 1 to 1,000.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 12;

    /// <summary>Delay after the first failed attempt, doubled each time. Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest delay between attempts. Default 15 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "06:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(15);
}

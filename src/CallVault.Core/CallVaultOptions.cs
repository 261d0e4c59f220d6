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
    [ValidateObjectMembers]
    public ApiOptions Api { get; set; } = new();
}

/// <summary>
/// Access to the API, the dashboard and <c>/metrics</c> (not the webhook, which has its own secret). With keys, every
/// request carries one (header <c>X-Api-Key</c>) or a dashboard session signed in with one. Without keys, requests are
/// served only when the service listens on loopback alone and trusts no forwarded headers, unless
/// <see cref="AllowAnonymous"/> is set; otherwise the service refuses to start.
/// </summary>
public sealed class ApiOptions
{
    /// <summary>
    /// Named keys (<c>CallVault:Api:Keys:&lt;name&gt;:Role</c> and <c>:Key</c> or <c>:KeySha256</c>). The name is what
    /// logs and the audit record show; the key never is. Empty by default.
    /// </summary>
    public IDictionary<string, ApiKeyOptions> Keys { get; } = new Dictionary<string, ApiKeyOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The keys that are set (see <see cref="ApiKeyOptions.IsEmpty"/>).</summary>
    public IEnumerable<KeyValuePair<string, ApiKeyOptions>> ConfiguredKeys => Keys.Where(k => !k.Value.IsEmpty);

    /// <summary>
    /// Serve every caller without a key, with every role (behind your own authenticating proxy). Logged as a warning
    /// at start-up. Default false; not allowed together with <see cref="Keys"/>.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>
    /// Host names (no port) the service answers to, compared without regard to case; other <c>Host</c> headers get 421.
    /// Without keys on loopback, localhost, 127.0.0.1 and [::1] are always allowed as well. Empty (default): only those
    /// loopback names when keyless on loopback, any host otherwise.
    /// </summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>The reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed.</summary>
    [Required]
    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();

    /// <summary>
    /// How long a dashboard session lasts without a request; each request renews it (sliding). Default 8 hours;
    /// 1 minute to 30 days.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(8);
}

/// <summary>The roles an API key can have.</summary>
public static class ApiRoles
{
    /// <summary>Lists, shows and plays recordings and reads the jobs.</summary>
    public const string Reader = "reader";

    /// <summary>Everything a reader does, plus state changes such as retrying a dead-lettered chunk.</summary>
    public const string Operator = "operator";

    /// <summary>Only <c>/metrics</c>.</summary>
    public const string Metrics = "metrics";

    /// <summary>Every role, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> All { get; } = [Reader, Operator, Metrics];
}

/// <summary>One named API key: its role and its secret (or the secret's SHA-256).</summary>
public sealed class ApiKeyOptions
{
    /// <summary><c>reader</c>, <c>operator</c> or <c>metrics</c> (see <see cref="ApiRoles"/>). Required.</summary>
    public string? Role { get; set; }

    /// <summary>The secret itself, 16+ characters. Give this or <see cref="KeySha256"/>, not both.</summary>
    public string? Key { get; set; }

    /// <summary>The lower-case hex SHA-256 of the secret's UTF-8 bytes (64 characters), so that configuration holds no secret.</summary>
    public string? KeySha256 { get; set; }

    /// <summary>
    /// Nothing set: the key is treated as absent, since configuration sources cannot delete a name once given, only
    /// empty its settings.
    /// </summary>
    public bool IsEmpty => string.IsNullOrEmpty(Role) && string.IsNullOrEmpty(Key) && string.IsNullOrEmpty(KeySha256);
}

/// <summary>
/// Reverse proxies whose forwarded headers are trusted. Configuring any means requests arrive through a proxy, so keys
/// (or <see cref="ApiOptions.AllowAnonymous"/>) are required.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    /// <summary>Proxy addresses, such as <c>127.0.0.1</c>. Empty by default.</summary>
    public IList<string> KnownProxies { get; } = [];

    /// <summary>Proxy networks in CIDR form, such as <c>10.0.0.0/8</c>. Empty by default.</summary>
    public IList<string> KnownNetworks { get; } = [];

    /// <summary>Whether any proxy is configured.</summary>
    public bool Configured => KnownProxies.Count > 0 || KnownNetworks.Count > 0;
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

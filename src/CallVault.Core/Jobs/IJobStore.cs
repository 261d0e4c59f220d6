namespace CallVault.Jobs;

/// <summary>
/// The durable queue of chunk jobs and the record of what was stored, as a few small roles over one database.
/// Implementations: SQLite (embedded default) and PostgreSQL (several instances). Every member is safe to call
/// concurrently.
/// </summary>
/// <remarks>
/// Each role is its own interface with its own contract suite, run on both backends. A new concern (audit records,
/// rejected events, holds) is a new role property here and a new small SQL class sharing the connection, transaction
/// and dialect helpers (<c>RelationalDatabase</c>), not new methods on an existing role.
/// </remarks>
public interface IJobStore
{
    /// <summary>Enqueueing chunks, leasing them and renewing leases.</summary>
    IChunkQueue Queue { get; }

    /// <summary>State changes of a leased chunk, each one fenced write unit.</summary>
    IChunkTransitions Transitions { get; }

    /// <summary>Chunks that were given up on, and retrying them by hand.</summary>
    IDeadLetters DeadLetters { get; }

    /// <summary>The read model of recordings and chunks for the API, the CLI, manifests and health.</summary>
    IRecordingReadModel Recordings { get; }

    /// <summary>Creating and upgrading the schema.</summary>
    IJobStoreSchema Schema { get; }

    /// <summary>Events the webhook could not use, kept with the reason so that nothing is dropped silently.</summary>
    Events.IRejectedEventStore RejectedEvents { get; }

    /// <summary>Recording sessions started through Call Automation: their state, history and files.</summary>
    Sessions.IRecordingSessionStore Sessions { get; }

    /// <summary>Dead-letter recovery's lease, blob progress and recovered or lost chunks.</summary>
    Recovery.IDeadLetterRecoveryStore DeadLetterRecovery { get; }

    /// <summary>Who read or changed which recording, when, how many bytes and from where.</summary>
    Audit.IAccessAuditLog AccessAudit { get; }

    /// <summary>Legal holds, recordings being deleted, tombstones of deleted ones, and the retention sweep's lease.</summary>
    Retention.IRetentionStore Retention { get; }
}

/// <summary>Creating and upgrading the schema.</summary>
public interface IJobStoreSchema
{
    /// <summary>Creates or upgrades the schema. Called once at start-up; safe to call again.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);
}

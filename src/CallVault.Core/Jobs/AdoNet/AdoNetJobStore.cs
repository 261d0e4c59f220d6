namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The job store over a relational database: one SQL class per role, all sharing one <see cref="RelationalDatabase"/>
/// (connection, transaction and dialect). A backend subclasses it only to supply its database.
/// </summary>
/// <remarks>
/// A new role is an interface in <c>CallVault.Jobs</c>, a property on <see cref="IJobStore"/>, an
/// <c>AdoNet{Role}</c> class here taking the <see cref="RelationalDatabase"/>, one line in this constructor, and its
/// tables as the next migration in <see cref="RelationalSchema"/>.
/// </remarks>
public abstract class AdoNetJobStore : IJobStore
{
    /// <summary>Creates the store's roles over one database.</summary>
    /// <param name="database">The database and its dialect.</param>
    protected AdoNetJobStore(RelationalDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        Database = database;
        Queue = new AdoNetChunkQueue(database);
        Transitions = new AdoNetChunkTransitions(database);
        DeadLetters = new AdoNetDeadLetters(database);
        Recordings = new AdoNetRecordingReadModel(database);
        Schema = new AdoNetJobStoreSchema(database);
        RejectedEvents = new RelationalRejectedEventStore(database);
        Sessions = new AdoNetRecordingSessionStore(database);
        DeadLetterRecovery = new AdoNetDeadLetterRecoveryStore(database);
        AccessAudit = new AdoNetAccessAuditLog(database);
        Retention = new AdoNetRetentionStore(database);
    }

    /// <summary>The database the roles share.</summary>
    protected RelationalDatabase Database { get; }

    /// <inheritdoc />
    public IChunkQueue Queue { get; }

    /// <inheritdoc />
    public IChunkTransitions Transitions { get; }

    /// <inheritdoc />
    public IDeadLetters DeadLetters { get; }

    /// <inheritdoc />
    public IRecordingReadModel Recordings { get; }

    /// <inheritdoc />
    public IJobStoreSchema Schema { get; }

    /// <inheritdoc />
    public Events.IRejectedEventStore RejectedEvents { get; }

    /// <inheritdoc />
    public Sessions.IRecordingSessionStore Sessions { get; }

    /// <inheritdoc />
    public Recovery.IDeadLetterRecoveryStore DeadLetterRecovery { get; }

    /// <inheritdoc />
    public Audit.IAccessAuditLog AccessAudit { get; }

    /// <inheritdoc />
    public Retention.IRetentionStore Retention { get; }
}

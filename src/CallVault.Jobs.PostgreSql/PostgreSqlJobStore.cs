using System.Data.Common;
using CallVault.Jobs.AdoNet;
using Npgsql;

namespace CallVault.Jobs.PostgreSql;

/// <summary>
/// The job store several CallVault instances share. A chunk is leased with <c>FOR UPDATE SKIP LOCKED</c>, so two
/// instances never take the same one; a lease that is not renewed (its instance died) expires and another instance
/// takes the chunk. Schema migrations run under an advisory lock, so instances starting together do not collide.
/// </summary>
public sealed class PostgreSqlJobStore : AdoNetJobStore, IAsyncDisposable
{
    // An arbitrary, fixed key for pg_advisory_xact_lock: "CallVault schema".
    private const long SchemaLockKey = 0x43616c6c5661756c;

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Creates the store.</summary>
    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=db;Username=callvault;Password=...;Database=callvault</c>.</param>
    /// <param name="timeProvider">The clock.</param>
    public PostgreSqlJobStore(string connectionString, TimeProvider timeProvider)
        : base(timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<string> Migrations => RelationalSchema.Migrations;

    /// <inheritdoc />
    protected override string SkipLockedClause => "FOR UPDATE SKIP LOCKED";

    /// <inheritdoc />
    protected override bool RecoverLeasesAtStartup => false;

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override async Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        await ScalarAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key);", cancellationToken, ("@key", SchemaLockKey)).ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

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
    /// <summary>Creates the store.</summary>
    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=db;Username=callvault;Password=...;Database=callvault</c>.</param>
    /// <param name="timeProvider">The clock.</param>
    public PostgreSqlJobStore(string connectionString, TimeProvider timeProvider)
        : base(new PostgreSqlDatabase(connectionString, timeProvider))
    {
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ((PostgreSqlDatabase)Database).DisposeAsync();

    private sealed class PostgreSqlDatabase : RelationalDatabase, IAsyncDisposable
    {
        // An arbitrary, fixed key for pg_advisory_xact_lock: "CallVault schema".
        private const long SchemaLockKey = 0x43616c6c5661756c;

        private readonly NpgsqlDataSource _dataSource;

        public PostgreSqlDatabase(string connectionString, TimeProvider timeProvider)
            : base(timeProvider)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
            _dataSource = NpgsqlDataSource.Create(connectionString);
        }

        public override IReadOnlyList<string> Migrations => RelationalSchema.Migrations;

        public override string SkipLockedClause => "FOR UPDATE SKIP LOCKED";

        // NO KEY UPDATE: enough to serialise read-modify-writes of a recording's aggregates, without blocking the
        // foreign-key checks of chunks being inserted for the same recording.
        public override string LockRowsClause => "FOR NO KEY UPDATE";

        public override bool RecoverLeasesAtStartup => false;

        public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
            await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        public override async Task LockSchemaAsync(SqlSession session, CancellationToken cancellationToken) =>
            await session.ScalarAsync("SELECT pg_advisory_xact_lock(@key);", cancellationToken, ("@key", SchemaLockKey)).ConfigureAwait(false);

        public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
    }
}

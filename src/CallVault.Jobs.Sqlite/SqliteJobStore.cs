using System.Data.Common;
using CallVault.Jobs.AdoNet;
using Microsoft.Data.Sqlite;

namespace CallVault.Jobs.Sqlite;

/// <summary>
/// The embedded job store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so that a committed enqueue
/// survives a crash or a power cut. One process owns the file; on start-up it takes back every lease, since any lease
/// found then belonged to a process that died.
/// </summary>
public sealed class SqliteJobStore : AdoNetJobStore
{
    /// <summary>Creates the store.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=data/callvault.db</c>.</param>
    /// <param name="timeProvider">The clock.</param>
    public SqliteJobStore(string connectionString, TimeProvider timeProvider)
        : base(new SqliteDatabase(connectionString, timeProvider))
    {
    }

    private sealed class SqliteDatabase : RelationalDatabase
    {
        private readonly string _connectionString;
        private bool _folderExists;

        public SqliteDatabase(string connectionString, TimeProvider timeProvider)
            : base(timeProvider)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
            var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = true, ForeignKeys = true };
            if (builder.DefaultTimeout < 30)
            {
                builder.DefaultTimeout = 30;
            }

            _connectionString = builder.ToString();
        }

        public override IReadOnlyList<string> Migrations => RelationalSchema.Migrations;

        // SQLite has one writer at a time, and a write unit's transaction starts as a writer (BEGIN IMMEDIATE), so
        // rows read in it cannot change under it.
        public override string SkipLockedClause => string.Empty;

        public override string LockRowsClause => string.Empty;

        public override bool RecoverLeasesAtStartup => true;

        public override async Task PrepareAsync(SqlSession session, CancellationToken cancellationToken) =>
            await session.ExecuteAsync("PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);

        public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            if (!_folderExists)
            {
                var file = new SqliteConnectionStringBuilder(_connectionString).DataSource;
                if (!string.IsNullOrEmpty(file) && file != ":memory:" && Path.GetDirectoryName(Path.GetFullPath(file)) is { } folder)
                {
                    Directory.CreateDirectory(folder);
                }

                _folderExists = true;
            }

            var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // FULL: a committed transaction is on disk before the commit returns, which the webhook's 200 relies on.
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;";
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
    }
}

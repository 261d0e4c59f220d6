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
    private readonly string _connectionString;
    private bool _folderExists;

    /// <summary>Creates the store.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=data/callvault.db</c>.</param>
    /// <param name="timeProvider">The clock.</param>
    public SqliteJobStore(string connectionString, TimeProvider timeProvider)
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

    /// <inheritdoc />
    protected override IReadOnlyList<string> Migrations => RelationalSchema.Migrations;

    /// <inheritdoc />
    protected override string SkipLockedClause => string.Empty;

    /// <inheritdoc />
    protected override bool RecoverLeasesAtStartup => true;

    /// <inheritdoc />
    protected override async Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
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
        await ExecuteAsync(connection, null, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000;", cancellationToken).ConfigureAwait(false);
        return connection;
    }
}

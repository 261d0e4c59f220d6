using System.Data.Common;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// One relational database as every job-store role uses it: how to open a connection, the few dialect differences,
/// and the two ways work is done (a read on one connection, a write unit in one transaction). A backend (SQLite,
/// PostgreSQL) subclasses it; each role is a small SQL class over it, so adding a role never touches another.
/// </summary>
public abstract class RelationalDatabase
{
    /// <summary>Creates the database access.</summary>
    /// <param name="timeProvider">The clock every stored time comes from.</param>
    protected RelationalDatabase(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        TimeProvider = timeProvider;
    }

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The schema, as migrations applied in order; each runs in the transaction that records it.</summary>
    public abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>
    /// The clause that ends the subquery choosing the chunk to lease: empty where the database serialises writers
    /// (SQLite), <c>FOR UPDATE SKIP LOCKED</c> where it does not (PostgreSQL).
    /// </summary>
    public abstract string SkipLockedClause { get; }

    /// <summary>
    /// The clause that ends a SELECT which must lock the rows it reads until the transaction ends: empty where the
    /// database serialises writers (SQLite), <c>FOR UPDATE</c> where it does not (PostgreSQL).
    /// </summary>
    public abstract string LockRowsClause { get; }

    /// <summary>
    /// Whether every lease found at start-up belongs to a dead process: true for an embedded database that one process
    /// owns, false when several instances share the database and leases must expire instead.
    /// </summary>
    public abstract bool RecoverLeasesAtStartup { get; }

    /// <summary>Opens a connection, ready for use.</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Runs before the migrations, outside any transaction (e.g. setting the journal mode).</summary>
    public virtual Task PrepareAsync(SqlSession session, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs inside the migration transaction before the migrations (e.g. taking an advisory lock).</summary>
    public virtual Task LockSchemaAsync(SqlSession session, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Now, in Unix milliseconds, as times are stored.</summary>
    public long Now() => TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Runs reads on one connection, outside a transaction.</summary>
    public async Task<T> ReadAsync<T>(Func<SqlSession, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await read(new SqlSession(connection, null)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs one write unit in one transaction on one connection and commits it; an exception rolls everything back.
    /// The unit's after-commit actions run once the commit has returned, and never when it did not.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<SqlSession, Task<T>> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            SqlSession session;
            T result;
            await using (transaction.ConfigureAwait(false))
            {
                session = new SqlSession(connection, transaction);
                result = await write(session).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            await session.RunAfterCommitAsync().ConfigureAwait(false);
            return result;
        }
    }
}

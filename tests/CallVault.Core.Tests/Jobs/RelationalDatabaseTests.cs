using System.Data.Common;
using CallVault.Jobs.AdoNet;
using Microsoft.Data.Sqlite;

namespace CallVault.Core.Tests.Jobs;

/// <summary>The write unit every role shares: one transaction, and after-commit actions that run only after a commit.</summary>
public sealed class RelationalDatabaseTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-db-").FullName;
    private readonly FileDatabase _database;

    public RelationalDatabaseTests() => _database = new FileDatabase($"Data Source={Path.Combine(_folder, "t.db")}");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task WriteAsync_Committed_RunsAfterCommitActionsWithTheDataVisibleToOthers()
    {
        await _database.WriteAsync(s => s.ExecuteAsync("CREATE TABLE t (v INTEGER);", default), default);
        long? seen = null;

        await _database.WriteAsync(
            async session =>
            {
                await session.ExecuteAsync("INSERT INTO t VALUES (7);", default);
                session.AfterCommit(async () => seen = (long?)await _database.ReadAsync(s => s.ScalarAsync("SELECT MAX(v) FROM t;", default), default));
                return 0;
            },
            default);

        Assert.Equal(7, seen);
    }

    [Fact]
    public async Task WriteAsync_Failed_RollsBackAndRunsNoAfterCommitAction()
    {
        await _database.WriteAsync(s => s.ExecuteAsync("CREATE TABLE t (v INTEGER);", default), default);
        var ran = false;

        await Assert.ThrowsAsync<InvalidOperationException>(() => _database.WriteAsync<int>(
            async session =>
            {
                await session.ExecuteAsync("INSERT INTO t VALUES (7);", default);
                session.AfterCommit(() =>
                {
                    ran = true;
                    return Task.CompletedTask;
                });
                throw new InvalidOperationException("the fence refused the write");
            },
            default));

        Assert.False(ran);
        Assert.Null(await _database.ReadAsync(s => s.ScalarAsync("SELECT MAX(v) FROM t;", default), default));
    }

    [Fact]
    public async Task AfterCommit_OnARead_Throws() =>
        await Assert.ThrowsAsync<InvalidOperationException>(() => _database.ReadAsync<int>(
            session =>
            {
                session.AfterCommit(() => Task.CompletedTask);
                return Task.FromResult(0);
            },
            default));

    private sealed class FileDatabase(string connectionString) : RelationalDatabase(TimeProvider.System)
    {
        public override IReadOnlyList<string> Migrations => [];

        public override string SkipLockedClause => string.Empty;

        public override string LockRowsClause => string.Empty;

        public override bool RecoverLeasesAtStartup => false;

        public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
    }
}

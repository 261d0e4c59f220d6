using CallVault.Jobs;
using CallVault.Jobs.Sqlite;

namespace CallVault.Core.Tests.Jobs;

/// <summary>The job-store contract on a real SQLite file.</summary>
public sealed class SqliteJobStoreTests : JobStoreContract
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-sqlite-").FullName;

    private string ConnectionString => $"Data Source={Path.Combine(_folder, "jobs.db")}";

    protected override Task<IJobStore> CreateStoreAsync(TimeProvider clock) => Task.FromResult<IJobStore>(new SqliteJobStore(ConnectionString, clock));

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>A restart of the one process that owns the file takes every lease back at once.</summary>
    [Fact]
    public async Task Initialize_AfterACrash_MakesLeasedChunksDueAtOnce()
    {
        await Store.EnqueueAsync("e1", [Chunk("d1")], default);
        Assert.NotNull(await Store.TryLeaseAsync("dead-process", TimeSpan.FromHours(1), default));

        var restarted = new SqliteJobStore(ConnectionString, Clock);
        await restarted.InitializeAsync(default);

        Assert.Equal("d1", (await restarted.TryLeaseAsync("new-process", TimeSpan.FromMinutes(1), default))!.DocumentId);
    }

    [Fact]
    public async Task Database_IsInWalMode()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";

        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }
}

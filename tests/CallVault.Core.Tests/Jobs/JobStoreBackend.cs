using CallVault.Jobs;
using CallVault.Jobs.PostgreSql;
using CallVault.Jobs.Sqlite;
using CallVault.Testing;
using Npgsql;

namespace CallVault.Core.Tests.Jobs;

/// <summary>A database for one test, and job stores over it: the only thing the contract suites vary by backend.</summary>
public abstract class JobStoreBackend : IAsyncDisposable
{
    /// <summary>Creates the empty database and the first store over it.</summary>
    public abstract Task<IJobStore> CreateAsync(TimeProvider clock);

    /// <summary>Another store over the same database, as another instance (or another process) would have.</summary>
    public abstract IJobStore NewInstance(TimeProvider clock);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();
}

/// <summary>A real SQLite file in a folder of its own.</summary>
public sealed class SqliteBackend : JobStoreBackend
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-sqlite-").FullName;

    /// <summary>The connection string of the test's database file.</summary>
    public string ConnectionString => $"Data Source={Path.Combine(_folder, "jobs.db")}";

    public override Task<IJobStore> CreateAsync(TimeProvider clock) => Task.FromResult(NewInstance(clock));

    public override IJobStore NewInstance(TimeProvider clock) => new SqliteJobStore(ConnectionString, clock);

    public override ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The run's PostgreSQL server, in a schema of the test's own.</summary>
public sealed class PostgreSqlBackend : JobStoreBackend
{
    private readonly string _schema = "test_" + Guid.NewGuid().ToString("N")[..16];
    private readonly List<PostgreSqlJobStore> _stores = [];

    /// <summary>The connection string of the test's schema.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder(TestServices.PostgreSql) { SearchPath = _schema }.ToString();

    public override async Task<IJobStore> CreateAsync(TimeProvider clock)
    {
        await using var connection = new NpgsqlConnection(TestServices.PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS {_schema};", connection);
        await command.ExecuteNonQueryAsync();
        return NewInstance(clock);
    }

    public override IJobStore NewInstance(TimeProvider clock)
    {
        var store = new PostgreSqlJobStore(ConnectionString, clock);
        lock (_stores)
        {
            _stores.Add(store);
        }

        return store;
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await using var connection = new NpgsqlConnection(TestServices.PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE;", connection);
        await command.ExecuteNonQueryAsync();
    }
}

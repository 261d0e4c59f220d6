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

    /// <summary>Runs one statement on the test's database, outside any store (to seed many rows at once).</summary>
    public abstract Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters);

    /// <summary>The database's plan for a statement, one line per step.</summary>
    public abstract Task<IReadOnlyList<string>> ExplainAsync(string sql, params (string Name, object? Value)[] parameters);

    /// <summary>The plan's steps that read the table without an index range (a full table or full index scan).</summary>
    public abstract IReadOnlyList<string> FullScans(IReadOnlyList<string> plan, string table);

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

    public override async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    public override async Task<IReadOnlyList<string>> ExplainAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetString(3));
        }

        return plan;
    }

    // "SEARCH t USING INDEX i (a>?)" reads a range; "SCAN t" reads the whole table, "SCAN t USING INDEX i" the whole index.
    public override IReadOnlyList<string> FullScans(IReadOnlyList<string> plan, string table) =>
        [.. plan.Where(step => step.StartsWith($"SCAN {table}", StringComparison.Ordinal))];

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

    public override async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 300 };
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name.TrimStart('@'), value);
        }

        await command.ExecuteNonQueryAsync();
    }

    public override async Task<IReadOnlyList<string>> ExplainAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("EXPLAIN " + sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name.TrimStart('@'), value ?? DBNull.Value);
        }

        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetString(0).Trim());
        }

        return plan;
    }

    // "Seq Scan on t" reads the whole table; index, index-only and bitmap scans read the ranges their conditions give.
    public override IReadOnlyList<string> FullScans(IReadOnlyList<string> plan, string table) =>
        [.. plan.Where(step => step.Contains($"Seq Scan on {table}", StringComparison.Ordinal))];

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

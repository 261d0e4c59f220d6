using CallVault.Events;
using CallVault.Jobs.PostgreSql;
using CallVault.Testing;
using Npgsql;

namespace CallVault.Core.Tests.Events;

/// <summary>The rejected-event contract on the run's PostgreSQL server, each test in a schema of its own.</summary>
public sealed class PostgreSqlRejectedEventStoreTests : RejectedEventStoreContract
{
    private readonly string _schema = "test_" + Guid.NewGuid().ToString("N")[..16];
    private PostgreSqlJobStore? _jobs;

    protected override async Task<IRejectedEventStore> CreateStoreAsync(TimeProvider clock)
    {
        await using (var connection = new NpgsqlConnection(TestServices.PostgreSql))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS {_schema};", connection);
            await command.ExecuteNonQueryAsync();
        }

        _jobs = new PostgreSqlJobStore(new NpgsqlConnectionStringBuilder(TestServices.PostgreSql) { SearchPath = _schema }.ToString(), clock);
        await _jobs.Schema.InitializeAsync(default);
        return _jobs.RejectedEvents;
    }

    public override async Task DisposeAsync()
    {
        if (_jobs is not null)
        {
            await _jobs.DisposeAsync();
        }

        await using var connection = new NpgsqlConnection(TestServices.PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE;", connection);
        await command.ExecuteNonQueryAsync();
    }
}

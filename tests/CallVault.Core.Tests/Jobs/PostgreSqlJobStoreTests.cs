using CallVault.Jobs;
using Npgsql;

namespace CallVault.Core.Tests.Jobs;

public sealed class PostgreSqlChunkQueueTests() : ChunkQueueContract(new PostgreSqlBackend());

public sealed class PostgreSqlChunkTransitionsTests() : ChunkTransitionsContract(new PostgreSqlBackend());

public sealed class PostgreSqlDeadLettersTests() : DeadLettersContract(new PostgreSqlBackend());

public sealed class PostgreSqlRecordingReadModelTests() : RecordingReadModelContract(new PostgreSqlBackend());

public sealed class PostgreSqlJobStoreSchemaTests() : JobStoreSchemaContract(new PostgreSqlBackend());

public sealed class PostgreSqlRecordingSessionStoreTests() : RecordingSessionStoreContract(new PostgreSqlBackend());
public sealed class PostgreSqlDeadLetterRecoveryStoreTests() : DeadLetterRecoveryStoreContract(new PostgreSqlBackend());
public sealed class PostgreSqlRetentionStoreTests() : RetentionStoreContract(new PostgreSqlBackend());
public sealed class PostgreSqlAccessAuditLogTests() : AccessAuditLogContract(new PostgreSqlBackend());

/// <summary>What only the shared PostgreSQL store does: several instances on one database.</summary>
public sealed class PostgreSqlJobStoreTests() : JobStoreContract(new PostgreSqlBackend())
{
    private PostgreSqlBackend PostgreSql => (PostgreSqlBackend)Backend;

    /// <summary>Several instances share the database: a new instance starting up must not steal live leases.</summary>
    [Fact]
    public async Task Initialize_OfAnotherInstance_LeavesLiveLeasesAlone()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        Assert.NotNull(await Store.Queue.TryLeaseAsync("instance-a", TimeSpan.FromMinutes(2), default));

        var other = Backend.NewInstance(Clock);
        await other.Schema.InitializeAsync(default);

        Assert.Null(await other.Queue.TryLeaseAsync("instance-b", TimeSpan.FromMinutes(2), default));
        Clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal("d1", (await other.Queue.TryLeaseAsync("instance-b", TimeSpan.FromMinutes(2), default))!.DocumentId);
    }

    /// <summary>Instances starting together run the migrations once, under the advisory lock.</summary>
    [Fact]
    public async Task ConcurrentInitialize_MigratesOnce()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Backend.NewInstance(Clock).Schema.InitializeAsync(default)));

        await using var connection = new NpgsqlConnection(PostgreSql.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM schema_migrations;", connection);
        Assert.Equal((long)CallVault.Jobs.AdoNet.RelationalSchema.Migrations.Count, await command.ExecuteScalarAsync());
    }
}

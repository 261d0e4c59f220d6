using CallVault.Jobs;
using CallVault.Jobs.Sqlite;

namespace CallVault.Core.Tests.Jobs;

public sealed class SqliteChunkQueueTests() : ChunkQueueContract(new SqliteBackend());

public sealed class SqliteChunkTransitionsTests() : ChunkTransitionsContract(new SqliteBackend());

public sealed class SqliteDeadLettersTests() : DeadLettersContract(new SqliteBackend());

public sealed class SqliteRecordingReadModelTests() : RecordingReadModelContract(new SqliteBackend());

public sealed class SqliteJobStoreSchemaTests() : JobStoreSchemaContract(new SqliteBackend());

public sealed class SqliteRecordingSessionStoreTests() : RecordingSessionStoreContract(new SqliteBackend());
public sealed class SqliteDeadLetterRecoveryStoreTests() : DeadLetterRecoveryStoreContract(new SqliteBackend());
public sealed class SqliteAccessAuditLogTests() : AccessAuditLogContract(new SqliteBackend());
public sealed class SqliteRetentionStoreTests() : RetentionStoreContract(new SqliteBackend());

/// <summary>What only the embedded SQLite store does: one process owns the file.</summary>
public sealed class SqliteJobStoreTests() : JobStoreContract(new SqliteBackend())
{
    private SqliteBackend Sqlite => (SqliteBackend)Backend;

    /// <summary>A restart of the one process that owns the file takes every lease back at once.</summary>
    [Fact]
    public async Task Initialize_AfterACrash_MakesLeasedChunksDueAtOnce()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1")], default);
        Assert.NotNull(await Store.Queue.TryLeaseAsync("dead-process", TimeSpan.FromHours(1), default));

        var restarted = new SqliteJobStore(Sqlite.ConnectionString, Clock);
        await restarted.Schema.InitializeAsync(default);

        Assert.Equal("d1", (await restarted.Queue.TryLeaseAsync("new-process", TimeSpan.FromMinutes(1), default))!.DocumentId);
    }

    [Fact]
    public async Task Database_IsInWalMode()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Sqlite.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";

        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    /// <summary>A database written by version 2 of the schema keeps its recordings findable and sortable after the upgrade.</summary>
    [Fact]
    public async Task Upgrade_FromSchemaVersion2_FillsParticipantTermsAndStoredBytes()
    {
        var folder = Directory.CreateTempSubdirectory("callvault-upgrade-").FullName;
        var connectionString = $"Data Source={Path.Combine(folder, "jobs.db")}";
        try
        {
            await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);"
                    + CallVault.Jobs.AdoNet.RelationalSchema.Migrations[0] + CallVault.Jobs.AdoNet.RelationalSchema.Migrations[1]
                    + """
                    INSERT INTO schema_migrations VALUES (1, 0), (2, 0);
                    INSERT INTO recordings (recording_key, first_seen_at, participants) VALUES ('old', 0, '4:+14255550123' || char(10) || '8:acs:agent');
                    INSERT INTO chunks (document_id, recording_key, chunk_index, event_time, received_at, state, next_attempt_at, media_path, media_length, media_sha256)
                    VALUES ('d-old', 'old', 0, 0, 0, 'Stored', 0, 'old.wav', 1234, 'ab');
                    """;
                await command.ExecuteNonQueryAsync();
            }

            var upgraded = new SqliteJobStore(connectionString, Clock);
            await upgraded.Schema.InitializeAsync(default);

            var found = Assert.Single(await upgraded.Recordings.ListRecordingsAsync(new RecordingQuery { Participant = "+14255550123" }, default));
            Assert.Equal("old", found.Key);
            Assert.Equal(1234, found.StoredBytes);
            Assert.Equal("old", Assert.Single(await upgraded.Recordings.ListRecordingsAsync(new RecordingQuery { Participant = "acs:agent" }, default)).Key);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}

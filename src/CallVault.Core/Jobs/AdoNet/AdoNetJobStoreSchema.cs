using System.Globalization;

namespace CallVault.Jobs.AdoNet;

/// <summary>The schema role in SQL: applies the migrations not yet applied, in one transaction.</summary>
/// <param name="database">The database and its dialect.</param>
public sealed class AdoNetJobStoreSchema(RelationalDatabase database) : IJobStoreSchema
{
    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await database.ReadAsync(
            async session =>
            {
                await database.PrepareAsync(session, cancellationToken).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        await database.WriteAsync(
            async session =>
            {
                await database.LockSchemaAsync(session, cancellationToken).ConfigureAwait(false);
                await MigrateAsync(session, cancellationToken).ConfigureAwait(false);
                if (database.RecoverLeasesAtStartup)
                {
                    // Any lease found at start-up belongs to a process that died: the chunk is due again at once.
                    await session.ExecuteAsync(
                        $"UPDATE chunks SET state = '{ChunkStates.Pending}', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, next_attempt_at = @now WHERE state = '{ChunkStates.Leased}';",
                        cancellationToken,
                        ("@now", database.Now())).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task MigrateAsync(SqlSession session, CancellationToken cancellationToken)
    {
        await session.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);", cancellationToken).ConfigureAwait(false);
        var applied = Convert.ToInt32(await session.ScalarAsync("SELECT COALESCE(MAX(version), 0) FROM schema_migrations;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        for (var version = applied + 1; version <= database.Migrations.Count; version++)
        {
            await session.ExecuteAsync(database.Migrations[version - 1], cancellationToken).ConfigureAwait(false);
            if (version == RelationalSchema.ParticipantIndexVersion)
            {
                await IndexKnownParticipantsAsync(session, cancellationToken).ConfigureAwait(false);
            }

            await session.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @t);", cancellationToken, ("@v", version), ("@t", database.Now())).ConfigureAwait(false);
        }
    }

    /// <summary>Fills the participant search terms from the participants kept on recordings before they existed.</summary>
    private static async Task IndexKnownParticipantsAsync(SqlSession session, CancellationToken cancellationToken)
    {
        var known = await session.QueryAsync(
            "SELECT recording_key, participants FROM recordings WHERE participants IS NOT NULL;",
            reader => (Key: reader.GetString(0), Participants: reader.GetString(1)),
            cancellationToken).ConfigureAwait(false);
        foreach (var (key, participants) in known)
        {
            await ParticipantTerms.IndexAsync(session, key, participants.Split('\n', StringSplitOptions.RemoveEmptyEntries), cancellationToken).ConfigureAwait(false);
        }
    }
}

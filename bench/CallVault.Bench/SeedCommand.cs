using System.Globalization;
using CallVault.Jobs;
using CallVault.Jobs.Sqlite;
using Microsoft.Data.Sqlite;

namespace CallVault.Bench;

/// <summary>
/// Fills a data folder's SQLite job database with N recordings of one chunk each: nine in ten stored (with size and
/// participants), the rest pending or dead-lettered, as a busy contact centre's database would look.
/// </summary>
internal static class SeedCommand
{
    public static async Task<int> RunAsync(string dataFolder, int recordings)
    {
        Directory.CreateDirectory(dataFolder);
        var connectionString = $"Data Source={Path.Combine(dataFolder, "callvault.db")}";
        var store = new SqliteJobStore(connectionString, TimeProvider.System);
        await store.Schema.InitializeAsync(default);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var batch = 0; batch < recordings; batch += 5000)
        {
            var events = Enumerable.Range(batch, Math.Min(5000, recordings - batch)).Select(i =>
            {
                var recording = new RecordingInfo
                {
                    Key = $"rec-{i:D6}",
                    RecordingId = $"rec-{i:D6}",
                    CallId = $"call-{i:D6}",
                    StartTime = start.AddMinutes(i),
                    DurationMs = 60_000 + (i % 600 * 1000),
                    FormatType = "Wav",
                };
                return new EventChunks($"event-{i:D6}", [new ChunkRequest
                {
                    DocumentId = $"0-eus-d1-{i:D8}",
                    Recording = recording,
                    ContentLocation = new Uri($"https://storage.asm.skype.com/v1/objects/0-eus-d1-{i:D8}/content/audio"),
                    MetadataLocation = new Uri($"https://storage.asm.skype.com/v1/objects/0-eus-d1-{i:D8}/content/acsmetadata"),
                    EventTime = start.AddMinutes(i),
                }]);
            }).ToList();
            await store.Queue.EnqueueAsync(events, default);
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE chunks SET state = CASE WHEN CAST(substr(document_id, 10) AS INTEGER) % 10 = 9 THEN 'Pending'
                                           WHEN CAST(substr(document_id, 10) AS INTEGER) % 100 = 42 THEN 'DeadLettered'
                                           ELSE 'Stored' END,
                media_path = 'x/' || document_id || '.wav', media_length = 1000000 + CAST(substr(document_id, 10) AS INTEGER),
                media_sha256 = 'ab', last_error = NULL;
            UPDATE chunks SET media_path = NULL, media_length = NULL, media_sha256 = NULL WHERE state <> 'Stored';
            -- Stored a minute after the event, so that the dashboard's timeline has a history to aggregate.
            UPDATE chunks SET stored_at = event_time + 60000 WHERE state = 'Stored';
            UPDATE recordings SET participants = '8:acs:agent-' || (CAST(substr(recording_key, 5) AS INTEGER) % 50) || char(10) || '4:+1425555' || printf('%04d', CAST(substr(recording_key, 5) AS INTEGER) % 10000),
                stored_bytes = COALESCE((SELECT SUM(c.media_length) FROM chunks c WHERE c.recording_key = recordings.recording_key AND c.state = 'Stored'), 0);
            -- The search terms the store keeps for each participant (see ParticipantSearch).
            WITH r AS (SELECT recording_key, CAST(substr(recording_key, 5) AS INTEGER) AS n FROM recordings)
            INSERT INTO recording_participants (participant, recording_key)
            SELECT '8:acs:agent-' || (n % 50), recording_key FROM r UNION ALL
            SELECT 'acs:agent-' || (n % 50), recording_key FROM r UNION ALL
            SELECT '4:+1425555' || printf('%04d', n % 10000), recording_key FROM r UNION ALL
            SELECT '+1425555' || printf('%04d', n % 10000), recording_key FROM r UNION ALL
            SELECT '1425555' || printf('%04d', n % 10000), recording_key FROM r;
            """;
        await command.ExecuteNonQueryAsync();
        SqliteConnection.ClearAllPools();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT seeded {recordings} recordings in {dataFolder}"));
        return 0;
    }
}

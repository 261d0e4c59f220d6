using System.Diagnostics;
using System.Globalization;
using CallVault.Jobs;
using CallVault.Jobs.PostgreSql;
using CallVault.Jobs.Sqlite;
using Npgsql;

namespace CallVault.Bench;

/// <summary>
/// Jobs claimed per second: enqueue N chunks, then W workers lease and complete them as fast as they can, each in its
/// own task with the store's own connections. Prints one line: <c>RESULT provider workers jobs seconds per_second</c>.
/// PostgreSQL comes from <c>CALLVAULT_TEST_POSTGRES</c> (eng/services.sh starts one).
/// </summary>
internal static class ClaimsBenchmark
{
    public static async Task<int> RunAsync(string provider, int workers, int jobs)
    {
        var (store, cleanup) = await CreateStoreAsync(provider);
        try
        {
            await store.Schema.InitializeAsync(default);
            var recording = new RecordingInfo { Key = "bench" };
            await store.Queue.EnqueueAsync(
                [.. Enumerable.Range(0, jobs).Select(i => new EventChunks($"e{i}", [new ChunkRequest
                {
                    DocumentId = $"d{i}",
                    Recording = recording,
                    Index = i,
                    ContentLocation = new Uri($"https://storage.asm.skype.com/v1/objects/d{i}/content/audio"),
                    MetadataLocation = new Uri($"https://storage.asm.skype.com/v1/objects/d{i}/content/acsmetadata"),
                    EventTime = DateTimeOffset.UnixEpoch.AddSeconds(i),
                }]))],
                default);

            var claimed = 0;
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
            {
                while (await store.Queue.TryLeaseAsync($"w{w}", TimeSpan.FromMinutes(5), default) is { } lease)
                {
                    await store.Transitions.CompleteAsync(lease, default);
                    Interlocked.Increment(ref claimed);
                }
            })));
            stopwatch.Stop();
            if (claimed != jobs)
            {
                Console.Error.WriteLine($"claimed {claimed} of {jobs}");
                return 1;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {provider} {workers} {jobs} {stopwatch.Elapsed.TotalSeconds:0.000} {jobs / stopwatch.Elapsed.TotalSeconds:0}"));
            return 0;
        }
        finally
        {
            await cleanup();
        }
    }

    private static async Task<(IJobStore Store, Func<Task> Cleanup)> CreateStoreAsync(string provider)
    {
        if (provider == "sqlite")
        {
            var folder = Directory.CreateTempSubdirectory("callvault-claims-").FullName;
            return (new SqliteJobStore($"Data Source={Path.Combine(folder, "jobs.db")}", TimeProvider.System), () =>
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Directory.Delete(folder, recursive: true);
                return Task.CompletedTask;
            });
        }

        var admin = Environment.GetEnvironmentVariable("CALLVAULT_TEST_POSTGRES") ?? throw new InvalidOperationException("CALLVAULT_TEST_POSTGRES is not set (source eng/services.sh; start_services).");
        var database = "claims_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(admin, $"CREATE DATABASE {database};");
        var store = new PostgreSqlJobStore(new NpgsqlConnectionStringBuilder(admin) { Database = database }.ToString(), TimeProvider.System);
        return (store, async () =>
        {
            await store.DisposeAsync();
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(admin, $"DROP DATABASE {database} WITH (FORCE);");
        });
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

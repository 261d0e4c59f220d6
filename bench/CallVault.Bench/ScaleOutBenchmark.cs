using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using CallVault.Emulator;
using Npgsql;

namespace CallVault.Bench;

/// <summary>
/// End-to-end time for N small recordings handled by M service processes sharing PostgreSQL and an Azurite container,
/// over a WAN-like link (5 MB/s per connection, 50 ms latency). Prints <c>RESULT instances recordings seconds per_second</c>.
/// Needs <c>CALLVAULT_TEST_POSTGRES</c> and <c>CALLVAULT_TEST_AZURITE</c> (eng/services.sh) and a Release build of the service.
/// </summary>
internal static class ScaleOutBenchmark
{
    public static async Task<int> RunAsync(int instances, int recordings)
    {
        var postgres = Environment.GetEnvironmentVariable("CALLVAULT_TEST_POSTGRES") ?? throw new InvalidOperationException("CALLVAULT_TEST_POSTGRES is not set.");
        var azurite = Environment.GetEnvironmentVariable("CALLVAULT_TEST_AZURITE") ?? throw new InvalidOperationException("CALLVAULT_TEST_AZURITE is not set.");
        var database = "scaleout_" + Guid.NewGuid().ToString("N")[..12];
        var container = "scaleout-" + Guid.NewGuid().ToString("N")[..12];
        var secret = Guid.NewGuid().ToString("N");
        var databaseConnection = new NpgsqlConnectionStringBuilder(postgres) { Database = database }.ToString();
        await ExecuteAsync(postgres, $"CREATE DATABASE {database};");
        await using var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.01 });
        using var admin = new HttpClient { BaseAddress = emulator.AdminBase };
        var services = new List<ServiceProcess>();
        var folders = new List<string>();
        try
        {
            for (var i = 0; i < instances; i++)
            {
                var folder = Directory.CreateTempSubdirectory("callvault-scaleout-").FullName;
                folders.Add(folder);
                var service = await ServiceProcess.StartAsync(folder, new Dictionary<string, string>
                {
                    ["CallVault__Acs__ConnectionString"] = emulator.ConnectionString.ToSecretString(),
                    ["CallVault__Acs__AllowedHosts__0"] = emulator.StorageOrigin,
                    ["CallVault__Webhook__Secrets__0"] = secret,
                    ["CallVault__Worker__PollInterval"] = "00:00:00.500",
                    ["CallVault__Database__Provider"] = "PostgreSql",
                    ["CallVault__Database__ConnectionString"] = databaseConnection,
                    ["CallVault__Storage__Provider"] = "AzureBlob",
                    ["CallVault__Storage__AzureBlob__ConnectionString"] = azurite,
                    ["CallVault__Storage__AzureBlob__ContainerName"] = container,
                });
                services.Add(service);
                (await admin.PostAsJsonAsync("subscriptions", new { name = $"instance-{i}", endpoint = $"{service.BaseAddress}api/events?code={secret}", maxEventsPerBatch = 1 })).EnsureSuccessStatusCode();
            }

            // One subscription per instance means every event reaches every instance; the job store deduplicates.
            (await admin.PutAsJsonAsync("link", new { bandwidthBytesPerSecond = 5_000_000, latencyMilliseconds = 50 })).EnsureSuccessStatusCode();
            var stopwatch = Stopwatch.StartNew();
            for (var i = 0; i < recordings; i++)
            {
                (await admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 200_000 })).EnsureSuccessStatusCode();
            }

            while (await StoredAsync(databaseConnection) < recordings)
            {
                if (stopwatch.Elapsed > TimeSpan.FromMinutes(10))
                {
                    Console.Error.WriteLine($"only {await StoredAsync(databaseConnection)} of {recordings} stored after 10 minutes");
                    return 1;
                }

                await Task.Delay(100);
            }

            stopwatch.Stop();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {instances} {recordings} {stopwatch.Elapsed.TotalSeconds:0.00} {recordings / stopwatch.Elapsed.TotalSeconds:0.0}"));
            return 0;
        }
        finally
        {
            foreach (var service in services)
            {
                await service.DisposeAsync();
            }

            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(postgres, $"DROP DATABASE IF EXISTS {database} WITH (FORCE);");
            await new Azure.Storage.Blobs.BlobContainerClient(azurite, container).DeleteIfExistsAsync();
            foreach (var folder in folders)
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task<long> StoredAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM chunks WHERE state = 'Stored';", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

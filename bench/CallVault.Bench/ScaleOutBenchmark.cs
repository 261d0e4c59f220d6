using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
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
        var server = Path.Combine(FindRoot(), "src", "CallVault.Server", "bin", "Release", "net10.0", "CallVault.Server.dll");
        var database = "scaleout_" + Guid.NewGuid().ToString("N")[..12];
        var container = "scaleout-" + Guid.NewGuid().ToString("N")[..12];
        var secret = Guid.NewGuid().ToString("N");
        var databaseConnection = new NpgsqlConnectionStringBuilder(postgres) { Database = database }.ToString();
        await ExecuteAsync(postgres, $"CREATE DATABASE {database};");
        await using var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.01 });
        using var admin = new HttpClient { BaseAddress = emulator.AdminBase };
        var processes = new List<Process>();
        var folders = new List<string>();
        try
        {
            for (var i = 0; i < instances; i++)
            {
                var folder = Directory.CreateTempSubdirectory("callvault-scaleout-").FullName;
                folders.Add(folder);
                var url = $"http://127.0.0.1:{FreePort()}";
                var start = new ProcessStartInfo("dotnet") { ArgumentList = { server }, WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var (key, value) in new Dictionary<string, string>
                {
                    ["Urls"] = url,
                    ["Logging__LogLevel__Default"] = "Warning",
                    ["CallVault__DataDirectory"] = folder,
                    ["CallVault__Acs__ConnectionString"] = emulator.ConnectionString.ToSecretString(),
                    ["CallVault__Acs__AllowedHosts__0"] = emulator.StorageOrigin,
                    ["CallVault__Webhook__Secrets__0"] = secret,
                    ["CallVault__Worker__PollInterval"] = "00:00:00.500",
                    ["CallVault__Database__Provider"] = "PostgreSql",
                    ["CallVault__Database__ConnectionString"] = databaseConnection,
                    ["CallVault__Storage__Provider"] = "AzureBlob",
                    ["CallVault__Storage__AzureBlob__ConnectionString"] = azurite,
                    ["CallVault__Storage__AzureBlob__ContainerName"] = container,
                })
                {
                    start.Environment[key] = value;
                }

                var process = Process.Start(start)!;
                process.OutputDataReceived += (_, _) => { };
                process.ErrorDataReceived += (_, _) => { };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                processes.Add(process);
                using var client = new HttpClient { BaseAddress = new Uri(url) };
                for (var attempt = 0; attempt < 300 && !await IsLiveAsync(client); attempt++)
                {
                    await Task.Delay(200);
                }

                (await admin.PostAsJsonAsync("subscriptions", new { name = $"instance-{i}", endpoint = $"{url}/api/events?code={secret}", maxEventsPerBatch = 1 })).EnsureSuccessStatusCode();
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
            foreach (var process in processes)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
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

    private static async Task<bool> IsLiveAsync(HttpClient client)
    {
        try
        {
            return (await client.GetAsync("health/live")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CallVault.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException("CallVault.slnx not found");
    }
}

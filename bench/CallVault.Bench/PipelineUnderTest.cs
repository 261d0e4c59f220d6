using System.Data.Common;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CallVault.Bench;

/// <summary>
/// The emulator (in this process) publishing to one CallVault service process on its embedded defaults: SQLite and a
/// folder on disk, as the README's first command runs it (or, given a PostgreSQL server, a fresh database on it with the
/// same folder on disk). Knows every chunk it published and checks what was stored.
/// </summary>
internal sealed class PipelineUnderTest : IAsyncDisposable
{
    private readonly Dictionary<string, (string Sha256, long Size)> _published = new(StringComparer.Ordinal);
    private readonly string? _postgresDatabase;

    private PipelineUnderTest(AcsEmulator emulator, HttpClient admin, ServiceProcess service, string dataFolder, string? postgresDatabase)
    {
        Emulator = emulator;
        Admin = admin;
        Service = service;
        DataFolder = dataFolder;
        _postgresDatabase = postgresDatabase;
    }

    public AcsEmulator Emulator { get; }

    public HttpClient Admin { get; }

    public ServiceProcess Service { get; }

    public string DataFolder { get; }

    /// <summary>Chunks published so far.</summary>
    public int PublishedChunks => _published.Count;

    /// <summary><c>sqlite</c> or <c>postgresql</c>: the job store the service runs on.</summary>
    public string Store => _postgresDatabase is null ? "sqlite" : "postgresql";

    /// <summary>Opens a read connection to the service's job store.</summary>
    private DbConnection OpenDatabase() => _postgresDatabase is null
        ? new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(DataFolder, "callvault.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString())
        : new NpgsqlConnection(_postgresDatabase);

    /// <summary>Starts the emulator and one service on SQLite, or on a fresh database of <paramref name="postgres"/> when given.</summary>
    /// <param name="serviceWorkers">The service's worker concurrency; null keeps the service's default.</param>
    /// <param name="postgres">A PostgreSQL connection string (its server gets a new database for this run), or null for SQLite.</param>
    public static async Task<PipelineUnderTest> StartAsync(int? serviceWorkers = 4, string? postgres = null)
    {
        var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.01 });
        var admin = new HttpClient { BaseAddress = emulator.AdminBase };
        var folder = Directory.CreateTempSubdirectory("callvault-bench-").FullName;
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var settings = new Dictionary<string, string>
        {
            ["CallVault__Acs__ConnectionString"] = emulator.ConnectionString.ToSecretString(),
            ["CallVault__Acs__AllowedHosts__0"] = emulator.StorageOrigin,
            ["CallVault__Webhook__Secrets__0"] = secret,
        };
        if (serviceWorkers is { } workers)
        {
            settings["CallVault__Worker__Concurrency"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        string? database = null;
        if (postgres is not null)
        {
            var name = "catchup_" + Guid.NewGuid().ToString("N")[..12];
            await using (var connection = new NpgsqlConnection(postgres))
            {
                await connection.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {name};", connection);
                await create.ExecuteNonQueryAsync();
            }

            database = new NpgsqlConnectionStringBuilder(postgres) { Database = name, Pooling = false }.ToString();
            settings["CallVault__Database__Provider"] = "PostgreSql";
            settings["CallVault__Database__ConnectionString"] = new NpgsqlConnectionStringBuilder(postgres) { Database = name }.ToString();
        }

        var service = await ServiceProcess.StartAsync(folder, settings);
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = $"{service.BaseAddress}api/events?code={secret}" })).EnsureSuccessStatusCode();
        return new PipelineUnderTest(emulator, admin, service, folder, database);
    }

    /// <summary>Asks the emulator for a recording, which it publishes; remembers its chunks.</summary>
    public async Task PublishAsync(object spec, CancellationToken cancellationToken = default)
    {
        using var response = await Admin.PostAsJsonAsync("recordings", spec, cancellationToken);
        response.EnsureSuccessStatusCode();
        var recording = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        foreach (var chunk in recording.GetProperty("chunks").EnumerateArray())
        {
            _published[chunk.GetProperty("documentId").GetString()!] = (chunk.GetProperty("sha256").GetString()!, chunk.GetProperty("sizeBytes").GetInt64());
        }
    }

    /// <summary>Chunks the service has stored, read from its database.</summary>
    public async Task<long> StoredChunksAsync()
    {
        try
        {
            await using var connection = OpenDatabase();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM chunks WHERE state = 'Stored';";
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (DbException)
        {
            // Not created yet, or the service is restarting.
            return 0;
        }
    }

    /// <summary>The document ids of every chunk published so far.</summary>
    public IReadOnlyCollection<string> PublishedDocumentIds => _published.Keys;

    /// <summary>
    /// The chunks leased in the service's database: after a kill and before the restart (which releases them), the
    /// chunks the killed process was working on.
    /// </summary>
    public async Task<List<string>> LeasedChunksAsync()
    {
        await using var connection = OpenDatabase();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT document_id FROM chunks WHERE state = 'Leased';";
        var leased = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            leased.Add(reader.GetString(0));
        }

        return leased;
    }

    /// <summary>Waits until every published chunk is stored; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitUntilAllStoredAsync(TimeSpan timeout)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await StoredChunksAsync() < _published.Count)
        {
            if (waited.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    /// <summary>Milliseconds from each chunk's event to its being stored.</summary>
    public async Task<List<double>> EventToStoredMillisecondsAsync()
    {
        await using var connection = OpenDatabase();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT stored_at - event_time FROM chunks WHERE state = 'Stored' ORDER BY 1;";
        var latencies = new List<double>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            latencies.Add(reader.GetInt64(0));
        }

        return latencies;
    }

    /// <summary>
    /// Checks every published chunk against what the service stored: one row per chunk, stored, with the published
    /// SHA-256; its file on disk re-hashed; and no other media or partial files in the recordings folder.
    /// </summary>
    public async Task<StoreCheck> CheckStoredAsync()
    {
        // The last manifest rewrite goes through a temporary file after the chunk is recorded as stored: give such
        // writes a moment to finish, so that only files a crash left behind count as stray.
        var root = Path.Combine(DataFolder, "recordings");
        var settling = System.Diagnostics.Stopwatch.StartNew();
        while (Directory.Exists(root) && Directory.EnumerateFiles(root, "*.tmp", SearchOption.AllDirectories).Any() && settling.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        var rows = new Dictionary<string, (string State, string? Path, string? Sha256)>(StringComparer.Ordinal);
        await using (var connection = OpenDatabase())
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT document_id, state, media_path, media_sha256 FROM chunks;";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows[reader.GetString(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3));
            }
        }

        var problems = new List<string>();
        var storedPaths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (documentId, (sha256, _)) in _published)
        {
            if (!rows.TryGetValue(documentId, out var row))
            {
                problems.Add($"{documentId}: never queued");
                continue;
            }

            if (row.State != "Stored" || row.Path is null)
            {
                problems.Add($"{documentId}: {row.State}");
                continue;
            }

            var file = Path.Combine(root, row.Path);
            storedPaths.Add(Path.GetFullPath(file));
            await using var stream = File.OpenRead(file);
            var onDisk = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
            if (onDisk != sha256 || row.Sha256 != sha256)
            {
                problems.Add($"{documentId}: SHA-256 on disk {onDisk}, recorded {row.Sha256}, published {sha256}");
            }
        }

        var extraRows = rows.Keys.Count(k => !_published.ContainsKey(k));
        var files = Directory.Exists(root) ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToList() : [];
        var partials = files.Count(f => f.EndsWith(".partial", StringComparison.Ordinal));
        var mediaFiles = files.Count(f => !f.EndsWith(".json", StringComparison.Ordinal) && !f.EndsWith(".partial", StringComparison.Ordinal));
        var stray = files.Where(f => !f.EndsWith(".json", StringComparison.Ordinal) && !f.EndsWith(".partial", StringComparison.Ordinal) && !storedPaths.Contains(Path.GetFullPath(f))).ToList();
        var strayMedia = stray.Count;
        problems.AddRange(stray.Select(f => $"stray file {Path.GetRelativePath(root, f)}"));
        return new StoreCheck(_published.Count, rows.Count(r => r.Value.State == "Stored"), mediaFiles, partials, strayMedia, extraRows, problems);
    }

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        Admin.Dispose();
        await Emulator.DisposeAsync();
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        Directory.Delete(DataFolder, recursive: true);
    }
}

/// <summary>What <see cref="PipelineUnderTest.CheckStoredAsync"/> found.</summary>
internal sealed record StoreCheck(int Published, int StoredRows, int MediaFiles, int PartialFiles, int StrayMediaFiles, int UnknownRows, IReadOnlyList<string> Problems)
{
    /// <summary>Every chunk stored once, byte for byte, and nothing else.</summary>
    public bool AllStoredOnce => Problems.Count == 0 && StoredRows == Published && MediaFiles == Published && PartialFiles == 0 && StrayMediaFiles == 0 && UnknownRows == 0;
}

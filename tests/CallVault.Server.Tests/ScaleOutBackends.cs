using System.Security.Cryptography;
using Azure.Storage.Blobs;
using CallVault.Testing;
using Npgsql;

namespace CallVault.Server.Tests;

/// <summary>A fresh PostgreSQL database and Azurite container on the run's servers, dropped afterwards.</summary>
public sealed class ScaleOutBackends : IAsyncDisposable
{
    private readonly string _database = "callvault_" + Guid.NewGuid().ToString("N")[..16];

    private ScaleOutBackends() => Container = new BlobServiceClient(TestServices.Azurite).GetBlobContainerClient("recordings-" + Guid.NewGuid().ToString("N")[..16]);

    /// <summary>The database's connection string.</summary>
    public string DatabaseConnectionString => new NpgsqlConnectionStringBuilder(TestServices.PostgreSql) { Database = _database }.ToString();

    /// <summary>The container recordings go to.</summary>
    public BlobContainerClient Container { get; }

    /// <summary>Settings that point a service at these backends.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("CallVault:Database:Provider", "PostgreSql"),
        new("CallVault:Database:ConnectionString", DatabaseConnectionString),
        new("CallVault:Storage:Provider", "AzureBlob"),
        new("CallVault:Storage:AzureBlob:ConnectionString", TestServices.Azurite),
        new("CallVault:Storage:AzureBlob:ContainerName", Container.Name),
        new("CallVault:Storage:AzureBlob:BlockSizeBytes", "262144"),
    ];

    public static async Task<ScaleOutBackends> CreateAsync()
    {
        var backends = new ScaleOutBackends();
        await using var connection = new NpgsqlConnection(TestServices.PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {backends._database};", connection);
        await command.ExecuteNonQueryAsync();
        return backends;
    }

    /// <summary>The SHA-256 (hex) of a stored blob, or null when there is none.</summary>
    public async Task<string?> Sha256Async(string path)
    {
        var blob = Container.GetBlobClient(path);
        if (!await blob.ExistsAsync())
        {
            return null;
        }

        await using var stream = await blob.OpenReadAsync();
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(TestServices.PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE);", connection);
        await command.ExecuteNonQueryAsync();
        await Container.DeleteIfExistsAsync();
    }
}

using Microsoft.Extensions.Options;

namespace CallVault.Server.Hosting;

/// <summary>
/// The data folder and what lives in it: the SQLite database and, by default, the recordings. Holds an exclusive lock
/// on <c>.lock</c> for the life of the process, because the embedded database belongs to one process at a time.
/// </summary>
public sealed class DataFolder : IDisposable
{
    private FileStream? _lock;

    public DataFolder(IOptions<CallVaultOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        Path = System.IO.Path.GetFullPath(value.DataDirectory);
        RecordingsPath = System.IO.Path.GetFullPath(value.Storage.Path ?? System.IO.Path.Combine(Path, "recordings"));
        DatabaseConnectionString = value.Database.ConnectionString ?? $"Data Source={System.IO.Path.Combine(Path, "callvault.db")}";
    }

    /// <summary>The absolute data folder.</summary>
    public string Path { get; }

    /// <summary>The absolute recordings folder.</summary>
    public string RecordingsPath { get; }

    /// <summary>The job database's connection string.</summary>
    public string DatabaseConnectionString { get; }

    /// <summary>Takes the folder's lock.</summary>
    /// <exception cref="InvalidOperationException">Another process holds it.</exception>
    public void Lock()
    {
        Directory.CreateDirectory(Path);
        try
        {
            _lock = new FileStream(System.IO.Path.Combine(Path, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"Another CallVault process is using the data folder '{Path}'. One process per folder; use PostgreSQL to run several.", ex);
        }
    }

    public void Dispose() => _lock?.Dispose();
}

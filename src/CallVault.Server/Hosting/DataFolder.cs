using Microsoft.Extensions.Options;

namespace CallVault.Server.Hosting;

/// <summary>
/// The data folder and what lives in it: the SQLite database and, by default, the recordings. Holds an exclusive lock
/// on <c>.lock</c> for the life of the process, because the embedded database belongs to one process at a time.
/// </summary>
public sealed class DataFolder : IDisposable
{
    private readonly IOptions<CallVaultOptions> _options;
    private FileStream? _lock;

    // Options are read on first use, not here: constructing a hosted service must not pre-empt start-up validation,
    // which reports every configuration problem at once.
    public DataFolder(IOptions<CallVaultOptions> options) => _options = options;

    /// <summary>The absolute data folder.</summary>
    public string Path => System.IO.Path.GetFullPath(_options.Value.DataDirectory);

    /// <summary>The absolute recordings folder.</summary>
    public string RecordingsPath => System.IO.Path.GetFullPath(_options.Value.Storage.Path ?? System.IO.Path.Combine(Path, "recordings"));

    /// <summary>The job database's connection string.</summary>
    public string DatabaseConnectionString => _options.Value.Database.ConnectionString ?? $"Data Source={System.IO.Path.Combine(Path, "callvault.db")}";

    /// <summary>Takes the folder's lock when the jobs are in the embedded database, which one process owns.</summary>
    /// <exception cref="InvalidOperationException">Another process holds it.</exception>
    public void Lock()
    {
        Directory.CreateDirectory(Path);
        if (_options.Value.Database.Provider != DatabaseProvider.Sqlite)
        {
            return;
        }

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

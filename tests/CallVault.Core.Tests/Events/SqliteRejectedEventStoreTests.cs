using CallVault.Events;
using CallVault.Jobs.Sqlite;

namespace CallVault.Core.Tests.Events;

/// <summary>The rejected-event contract on a real SQLite file, its schema created by the job store's migrations.</summary>
public sealed class SqliteRejectedEventStoreTests : RejectedEventStoreContract
{
    private readonly string _folder = Directory.CreateTempSubdirectory("callvault-rejected-").FullName;

    protected override async Task<IRejectedEventStore> CreateStoreAsync(TimeProvider clock)
    {
        var jobs = new SqliteJobStore($"Data Source={Path.Combine(_folder, "jobs.db")}", clock);
        await jobs.Schema.InitializeAsync(default);
        return jobs.RejectedEvents;
    }

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }
}

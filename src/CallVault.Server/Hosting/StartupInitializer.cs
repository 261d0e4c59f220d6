using CallVault.Acs;
using CallVault.Jobs;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Hosting;

/// <summary>Runs before the worker: takes the data-folder lock, creates or upgrades the database, and says what configuration is missing.</summary>
internal sealed partial class StartupInitializer(
    DataFolder folder,
    IJobStore jobs,
    IOptions<CallVaultOptions> options,
    IOptions<AcsClientOptions> acs,
    ILogger<StartupInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        folder.Lock();
        await jobs.Schema.InitializeAsync(cancellationToken);
        Log.Started(logger, folder.Path, folder.RecordingsPath);
        foreach (var missing in ConfigurationHealth.Missing(options.Value, acs.Value))
        {
            Log.Missing(logger, missing);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "CallVault data folder {DataFolder}; recordings in {RecordingsFolder}")]
        public static partial void Started(ILogger logger, string dataFolder, string recordingsFolder);

        [LoggerMessage(2, LogLevel.Warning, "Not ready: {Missing}")]
        public static partial void Missing(ILogger logger, string missing);
    }
}

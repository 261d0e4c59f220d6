using System.CommandLine;
using CallVault.Acs;
using CallVault.Acs.Errors;
using CallVault.Acs.Recordings;
using CallVault.Jobs;
using CallVault.Jobs.PostgreSql;
using CallVault.Jobs.Sqlite;
using CallVault.Storage;
using CallVault.Storage.AzureBlob;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Cli.Commands;

/// <summary>
/// <c>callvault doctor</c>: reads the configuration the service would read (an appsettings.json and the
/// <c>CallVault__*</c> environment variables) and checks it, the clock against the ACS endpoint, that a signed request is
/// accepted, the job database and the recording store. Each check says what is wrong; exit code 1 if any failed.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config", "-c") { Description = "An appsettings.json to read before the environment variables. Default: ./appsettings.json when present." };
        var command = new Command("doctor", "Check the configuration, the clock, ACS access, the database and the store, and say exactly what is wrong.") { config };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(config), parse.InvocationConfiguration.Output, cancellationToken));
        return command;
    }

    internal static async Task<int> RunAsync(FileInfo? configFile, TextWriter output, CancellationToken cancellationToken)
    {
        var builder = new ConfigurationBuilder();
        var file = configFile?.FullName ?? Path.GetFullPath("appsettings.json");
        if (File.Exists(file))
        {
            builder.AddJsonFile(file, optional: false);
        }

        var configuration = builder.AddEnvironmentVariables().Build();
        var options = configuration.GetSection(CallVaultOptions.SectionName).Get<CallVaultOptions>() ?? new CallVaultOptions();
        var acs = configuration.GetSection($"{CallVaultOptions.SectionName}:Acs").Get<AcsClientOptions>() ?? new AcsClientOptions();
        var failed = 0;

        async Task ReportAsync(string check, bool? ok, string detail)
        {
            failed += ok == false ? 1 : 0;
            var mark = ok switch { true => "ok  ", false => "FAIL", null => "warn" };
            await output.WriteLineAsync($"{mark}  {check,-13} {detail}");
        }

        // Configuration, with the service's own validators.
        var problems = new List<string>();
        foreach (var result in new[]
        {
            new CallVaultOptionsAttributeValidator().Validate(null, options),
            new CallVaultOptionsValidator().Validate(null, options),
        })
        {
            problems.AddRange(result.Failures ?? []);
        }

        foreach (var result in new[] { new AcsClientOptionsAttributeValidator().Validate(null, acs), new AcsClientOptionsValidator().Validate(null, acs) })
        {
            problems.AddRange(result.Failures ?? []);
        }

        if (string.IsNullOrWhiteSpace(acs.ConnectionString))
        {
            problems.Add("No ACS connection string: set CallVault__Acs__ConnectionString.");
        }

        await ReportAsync("configuration", problems.Count == 0, problems.Count == 0 ? $"read {(File.Exists(file) ? file + " and " : string.Empty)}the environment" : string.Join(" ", problems));

        if (AcsConnectionString.TryParse(acs.ConnectionString, out var credential, out _))
        {
            await CheckAcsAsync(credential, acs, ReportAsync, cancellationToken);
        }
        else
        {
            await ReportAsync("acs", false, "skipped: the connection string is missing or malformed");
        }

        await CheckDatabaseAsync(options, ReportAsync, cancellationToken);
        await CheckStoreAsync(options, configuration, ReportAsync, cancellationToken);
        await output.WriteLineAsync(failed == 0 ? "Everything checked is in order." : $"{failed} check(s) failed.");
        return failed == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static async Task CheckAcsAsync(AcsConnectionString credential, AcsClientOptions acs, Func<string, bool?, string, Task> report, CancellationToken cancellationToken)
    {
        // The clock: ACS refuses signatures dated more than about 15 minutes off.
        using (var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(15) })
        {
            try
            {
                using var response = await plain.GetAsync(credential.Endpoint, cancellationToken);
                if (response.Headers.Date is { } serverTime)
                {
                    var skew = (TimeProvider.System.GetUtcNow() - serverTime).Duration();
                    await report("clock", skew < TimeSpan.FromMinutes(5), $"{skew.TotalSeconds:0} s from {credential.Endpoint.Host}'s clock" + (skew < TimeSpan.FromMinutes(5) ? string.Empty : "; ACS refuses requests more than about 15 minutes off, sync this machine's clock (NTP)"));
                }
                else
                {
                    await report("clock", null, $"{credential.Endpoint.Host} sent no Date header to compare with");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await report("clock", false, $"cannot reach {credential.Endpoint}: {ex.Message}");
                return;
            }
        }

        // A signed request for an object that does not exist: 404 means the signature was accepted.
        var services = new ServiceCollection();
        services.AddAcsRecordingClient(o =>
        {
            o.ConnectionString = acs.ConnectionString;
            o.SigningScheme = acs.SigningScheme;
            o.Retry.MaxRetryAttempts = 0;
            foreach (var host in acs.AllowedHosts)
            {
                o.AllowedHosts.Add(host);
            }
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<AcsRecordingClient>();
        try
        {
            await client.GetMetadataAsync(AcsRecordingClient.GetPreviewMetadataLocation(credential.Endpoint, "0-callvault-doctor-probe"), cancellationToken);
            await report("acs access", true, "a signed request was accepted");
        }
        catch (AcsRequestException ex) when (ex.Status == 404)
        {
            await report("acs access", true, $"a signed request to {credential.Endpoint.Host} was accepted (404 for a probe object, as expected)");
        }
        catch (AcsRequestException ex)
        {
            await report("acs access", false, ex.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException)
        {
            await report("acs access", false, $"the signed request failed: {ex.Message}");
        }
    }

    private static async Task CheckDatabaseAsync(CallVaultOptions options, Func<string, bool?, string, Task> report, CancellationToken cancellationToken)
    {
        try
        {
            IJobStore store;
            if (options.Database.Provider == DatabaseProvider.PostgreSql)
            {
                store = new PostgreSqlJobStore(options.Database.ConnectionString ?? string.Empty, TimeProvider.System);
            }
            else
            {
                var file = Path.Combine(Path.GetFullPath(options.DataDirectory), "callvault.db");
                if (options.Database.ConnectionString is null && !File.Exists(file))
                {
                    await report("database", null, $"no database yet at {file}; the service creates it on its first start");
                    return;
                }

                store = new SqliteJobStore(options.Database.ConnectionString ?? $"Data Source={file}", TimeProvider.System);
            }

            var statistics = await store.Recordings.GetStatisticsAsync(cancellationToken);
            await report("database", statistics.ByState[ChunkState.DeadLettered] == 0 ? true : null, $"{options.Database.Provider}: {string.Join(", ", statistics.ByState.Select(p => $"{p.Value} {p.Key}"))}");
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await report("database", false, $"{options.Database.Provider}: {ex.Message}");
        }
    }

    private static async Task CheckStoreAsync(CallVaultOptions options, IConfiguration configuration, Func<string, bool?, string, Task> report, CancellationToken cancellationToken)
    {
        try
        {
            IRecordingStore store = options.Storage.Provider == StorageProvider.AzureBlob
                ? AzureBlobRecordingStoreFactory.Create(configuration.GetSection($"{CallVaultOptions.SectionName}:Storage:AzureBlob").Get<AzureBlobStorageOptions>() ?? new AzureBlobStorageOptions())
                : new DiskRecordingStore(options.Storage.Path ?? Path.Combine(Path.GetFullPath(options.DataDirectory), "recordings"));
            await store.CheckWritableAsync(cancellationToken);
            await report("store", true, $"{options.Storage.Provider} is writable");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await report("store", false, $"{options.Storage.Provider}: {ex.Message}");
        }
    }
}

using CallVault.Byos;
using CallVault.Jobs.AdoNet;
using CallVault.Jobs.PostgreSql;
using CallVault.Jobs.Sqlite;
using CallVault.Storage;
using CallVault.Storage.AzureBlob;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Hosting;

/// <summary>
/// The job stores and recording stores CallVault ships, each registered by its own project, and the one place where
/// configuration picks among them (<c>CallVault:Database:Provider</c>, <c>CallVault:Storage:Provider</c>).
/// </summary>
internal static class StoreSelection
{
    /// <summary>Registers every provider and the <see cref="AdoNetJobStore"/> and <see cref="IRecordingStore"/> that configuration names.</summary>
    public static IServiceCollection AddCallVaultStores(this IServiceCollection services)
    {
        services.AddSqliteJobStore(sp => sp.GetRequiredService<DataFolder>().DatabaseConnectionString);
        services.AddPostgreSqlJobStore(sp => sp.GetRequiredService<DataFolder>().DatabaseConnectionString);
        services.AddDiskRecordingStore(sp => sp.GetRequiredService<DataFolder>().RecordingsPath);
        services.AddAzureBlobRecordingStore();

        // Chosen when first resolved, not here: demo mode and tests add configuration after the composition has run.
        services.AddSingleton(sp => sp.GetRequiredKeyedService<AdoNetJobStore>(Options(sp).Database.Provider));
        services.AddSingleton<IRecordingStore>(sp =>
        {
            var own = sp.GetRequiredKeyedService<IRecordingStore>(Options(sp).Storage.Provider);

            // Exported recordings are read where ACS wrote them: the API and verify reach them through the same store.
            return new ExportedBlobAwareRecordingStore(own, sp.GetRequiredService<IExportedBlobReader>());
        });
        return services;
    }

    private static CallVaultOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<CallVaultOptions>>().Value;
}

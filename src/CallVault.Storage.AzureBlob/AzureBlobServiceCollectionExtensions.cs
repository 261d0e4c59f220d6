using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CallVault.Storage.AzureBlob;

/// <summary>Registers the Azure Blob recording store.</summary>
public static class AzureBlobServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="AzureBlobStorageOptions"/> (<c>CallVault:Storage:AzureBlob</c>, validated at start-up) and
    /// registers <see cref="AzureBlobRecordingStore"/> as the <see cref="IRecordingStore"/> keyed by
    /// <see cref="StorageProvider.AzureBlob"/>; the composition picks the keyed store that <c>CallVault:Storage:Provider</c> names.
    /// </summary>
    public static IServiceCollection AddAzureBlobRecordingStore(this IServiceCollection services)
    {
        services.AddOptions<AzureBlobStorageOptions>().BindConfiguration($"{CallVaultOptions.SectionName}:Storage:AzureBlob").ValidateDataAnnotations().ValidateOnStart();
        services.AddKeyedSingleton<IRecordingStore>(StorageProvider.AzureBlob, (sp, _) => AzureBlobRecordingStoreFactory.Create(sp.GetRequiredService<IOptions<AzureBlobStorageOptions>>().Value));
        return services;
    }
}

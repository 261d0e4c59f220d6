using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CallVault.Storage;

/// <summary>Registers the local-disk recording store.</summary>
public static class DiskServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DiskRecordingStore"/> as the <see cref="IRecordingStore"/> keyed by
    /// <see cref="StorageProvider.Disk"/>, syncing every <c>CallVault:Storage:SyncIntervalMiB</c>; the composition
    /// picks the keyed store that <c>CallVault:Storage:Provider</c> names.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="root">The absolute recordings folder, read when the store is first resolved (after options are validated).</param>
    public static IServiceCollection AddDiskRecordingStore(this IServiceCollection services, Func<IServiceProvider, string> root)
    {
        ArgumentNullException.ThrowIfNull(root);
        services.AddKeyedSingleton<IRecordingStore>(StorageProvider.Disk, (sp, _) => new DiskRecordingStore(
            root(sp),
            sp.GetRequiredService<IOptions<CallVaultOptions>>().Value.Storage.SyncIntervalMiB * 1024L * 1024));
        return services;
    }
}

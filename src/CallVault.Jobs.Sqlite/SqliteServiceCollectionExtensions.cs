using CallVault.Jobs.AdoNet;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Jobs.Sqlite;

/// <summary>Registers the embedded job store.</summary>
public static class SqliteServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="SqliteJobStore"/> as the <see cref="AdoNetJobStore"/> keyed by
    /// <see cref="DatabaseProvider.Sqlite"/>; the composition picks the keyed store that <c>CallVault:Database:Provider</c> names.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="connectionString">The SQLite connection string, read when the store is first resolved (after options are validated).</param>
    public static IServiceCollection AddSqliteJobStore(this IServiceCollection services, Func<IServiceProvider, string> connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        services.AddKeyedSingleton<AdoNetJobStore>(DatabaseProvider.Sqlite, (sp, _) => new SqliteJobStore(connectionString(sp), sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}

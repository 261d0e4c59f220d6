using CallVault.Jobs.AdoNet;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Jobs.PostgreSql;

/// <summary>Registers the shared job store.</summary>
public static class PostgreSqlServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgreSqlJobStore"/> as the <see cref="AdoNetJobStore"/> keyed by
    /// <see cref="DatabaseProvider.PostgreSql"/>; the composition picks the keyed store that <c>CallVault:Database:Provider</c> names.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="connectionString">The Npgsql connection string, read when the store is first resolved (after options are validated).</param>
    public static IServiceCollection AddPostgreSqlJobStore(this IServiceCollection services, Func<IServiceProvider, string> connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        services.AddKeyedSingleton<AdoNetJobStore>(DatabaseProvider.PostgreSql, (sp, _) => new PostgreSqlJobStore(connectionString(sp), sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}

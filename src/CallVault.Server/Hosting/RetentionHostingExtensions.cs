using CallVault.Retention;

namespace CallVault.Server.Hosting;

/// <summary>Retention and legal hold in the service's composition.</summary>
internal static class RetentionHostingExtensions
{
    /// <summary>
    /// Retention (<c>CallVault:Retention</c>, validated at start-up): the deleter the API uses, the metrics, and the sweep
    /// that runs on every instance (one at a time deletes, by lease) and deletes nothing unless <c>KeepDays</c> is set.
    /// </summary>
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RetentionMetrics>();
        services.AddSingleton<RecordingDeleter>();
        services.AddSingleton<RetentionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        return services;
    }
}

using CallVault.Acs;
using CallVault.Byos;
using CallVault.Diagnostics;
using CallVault.Events;
using CallVault.Jobs;
using CallVault.Jobs.AdoNet;
using CallVault.Processing;
using CallVault.Server.Access;
using CallVault.Recovery;
using CallVault.Server.Api;
using CallVault.Server.Health;
using CallVault.Server.Sessions;
using CallVault.Server.Webhook;
using CallVault.Storage;
using CallVault.Storage.AzureBlob;
using CallVault.Storage.AzureBlob.DeadLetters;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Hosting;

/// <summary>The service's composition: one <c>Add</c> and one <c>Map</c> for the whole of CallVault.</summary>
public static class CallVaultHostingExtensions
{
    /// <summary>Registers options (validated at start-up), the stores, the ACS client, the webhook intake and the worker.</summary>
    public static WebApplicationBuilder AddCallVault(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<CallVaultOptions>().BindConfiguration(CallVaultOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CallVaultOptions>, CallVaultOptionsAttributeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CallVaultOptions>, CallVaultOptionsValidator>());
        services.AddAcsRecordingClient();
        services.AddCallRecordingClient();
        services.AddOptions<AcsClientOptions>().BindConfiguration($"{CallVaultOptions.SectionName}:Acs").ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.PostConfigure<LoggerFilterOptions>(QueryStringLogging.Silence);

        services.AddSingleton<DataFolder>();
        services.AddCallVaultStores();
        services.AddSingleton<IJobStore>(sp => sp.GetRequiredService<AdoNetJobStore>());

        // Each role on its own too, so that a component can ask for only the role it uses.
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Queue);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Transitions);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().DeadLetters);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Recordings);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Schema);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().RejectedEvents);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Sessions);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().DeadLetterRecovery);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().AccessAudit);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Retention);
        services.AddOptions<ByosOptions>().BindConfiguration(ByosOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ByosOptions>, ByosOptionsValidator>());
        services.AddSingleton<ExportedBlobLocations>();
        services.AddSingleton<IExportedBlobReader, AzureExportedBlobReader>();
        services.AddSingleton<CallVaultMetrics>();
        services.AddSingleton<JobStatisticsCache>();
        services.AddSingleton<WaveformPeaks>();
        builder.AddCallVaultTelemetry();
        services.AddOperationsMetrics();
        services.AddSingleton<JobSignal>();
        services.AddSingleton<DownloadsInFlight>();
        services.AddSingleton(sp =>
        {
            var webhook = sp.GetRequiredService<IOptions<CallVaultOptions>>().Value.Webhook;
            return new GroupCommitEnqueuer(sp.GetRequiredService<IJobStore>().Queue, webhook.MaxQueuedEvents, webhook.QueueWait, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<WebhookIntake>();
        services.AddSingleton<WebhookAuthFailureLog>();
        services.AddSingleton<ManifestWriter>();

        // Order matters: the initializer takes the data-folder lock and readies the database before the worker starts.
        services.AddHostedService<StartupInitializer>();
        services.AddSingleton<ChunkDownloadWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ChunkDownloadWorker>());
        services.AddHostedService<JobStatisticsSampler>();
        services.AddHostedService<ManifestSweeper>();
        services.AddDeadLetterRecovery();
        services.AddRetention();

        services.AddSingleton(sp => new StoreProbeCache(
            sp.GetRequiredService<IRecordingStore>().CheckWritableAsync,
            sp.GetRequiredService<IOptionsMonitor<CallVaultOptions>>(),
            sp.GetRequiredService<TimeProvider>()));

        builder.AddRecordingControl();

        services.AddHealthChecks()
            .AddCheck<ConfigurationHealthCheck>("configuration", tags: ["ready"])
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<StoreHealthCheck>("store", tags: ["ready"])
            .AddCheck<SessionsHealthCheck>("sessions", tags: ["ready"]);
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        services.AddOpenApi();
        services.AddCallVaultAccess();
        return builder;
    }

    /// <summary>
    /// Dead-letter recovery (<c>CallVault:Recovery:DeadLetter</c>, validated at start-up): the polling service runs on
    /// every instance and does nothing unless a container is configured.
    /// </summary>
    private static IServiceCollection AddDeadLetterRecovery(this IServiceCollection services)
    {
        services.AddOptions<DeadLetterRecoveryOptions>().BindConfiguration(DeadLetterRecoveryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeadLetterRecoveryOptions>, DeadLetterRecoveryOptionsValidator>());
        services.AddSingleton<DeadLetterRecoveryMetrics>();
        services.AddSingleton<IDeadLetterSource>(sp => AzureDeadLetterSource.Create(sp.GetRequiredService<IOptions<DeadLetterRecoveryOptions>>().Value));
        services.AddSingleton<DeadLetterRecovery>();
        services.AddSingleton<DeadLetterRecoveryService>();
        services.AddHostedService(sp => sp.GetRequiredService<DeadLetterRecoveryService>());
        return services;
    }

    /// <summary>Maps the access rules, the webhook, the API, the dashboard, <c>/metrics</c> and the health endpoints.</summary>
    public static WebApplication MapCallVault(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Validate every options type now, before any service is constructed, so all problems are reported together.
        app.Services.GetService<IStartupValidator>()?.Validate();
        // Before access, so that its refusals carry the headers too.
        app.UseSecurityHeaders();
        app.UseCallVaultAccess();

        // The dashboard: static files at /, which read everything through the API (and its access rules).
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapEventGridWebhook();
        app.MapSessionEndpoints();
        app.MapRecordingsApi();
        app.MapJobsApi();
        app.MapEventsApi();
        app.MapSessionsApi();
        app.MapCallAutomationCallbacks();
        app.MapRecoveryApi();
        app.MapReconciliationApi();
        app.MapDashboardApi();
        app.MapAuditApi();
        app.MapRetentionApi();
        // The document only describes routes, but a map of the API is of use to nobody without a key.
        app.MapOpenApi().RequireAuthorization(AccessPolicies.Reader);
        app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(AccessPolicies.Metrics);
        app.MapCallVaultHealth();
        return app;
    }
}

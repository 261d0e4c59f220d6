using CallVault.Acs;
using CallVault.Diagnostics;
using CallVault.Events;
using CallVault.Jobs;
using CallVault.Jobs.AdoNet;
using CallVault.Jobs.PostgreSql;
using CallVault.Jobs.Sqlite;
using CallVault.Processing;
using CallVault.Server.Api;
using CallVault.Server.Health;
using CallVault.Server.Sessions;
using CallVault.Server.Webhook;
using CallVault.Storage;
using CallVault.Storage.AzureBlob;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

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

        services.AddSingleton<DataFolder>();
        services.AddSingleton<AdoNetJobStore>(sp => sp.GetRequiredService<IOptions<CallVaultOptions>>().Value.Database.Provider switch
        {
            DatabaseProvider.PostgreSql => new PostgreSqlJobStore(sp.GetRequiredService<DataFolder>().DatabaseConnectionString, sp.GetRequiredService<TimeProvider>()),
            _ => new SqliteJobStore(sp.GetRequiredService<DataFolder>().DatabaseConnectionString, sp.GetRequiredService<TimeProvider>()),
        });
        services.AddSingleton<IJobStore>(sp => sp.GetRequiredService<AdoNetJobStore>());

        // Each role on its own too, so that a component can ask for only the role it uses.
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Queue);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Transitions);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().DeadLetters);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Recordings);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Schema);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().RejectedEvents);
        services.AddSingleton(sp => sp.GetRequiredService<IJobStore>().Sessions);
        services.AddOptions<AzureBlobStorageOptions>().BindConfiguration($"{CallVaultOptions.SectionName}:Storage:AzureBlob").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IRecordingStore>(sp => sp.GetRequiredService<IOptions<CallVaultOptions>>().Value.Storage.Provider switch
        {
            StorageProvider.AzureBlob => AzureBlobRecordingStoreFactory.Create(sp.GetRequiredService<IOptions<AzureBlobStorageOptions>>().Value),
            _ => new DiskRecordingStore(sp.GetRequiredService<DataFolder>().RecordingsPath, sp.GetRequiredService<IOptions<CallVaultOptions>>().Value.Storage.SyncIntervalMiB * 1024L * 1024),
        });
        services.AddSingleton<CallVaultMetrics>();
        services.AddSingleton<JobStatisticsCache>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(CallVaultMetrics.MeterName).AddPrometheusExporter());
        services.AddSingleton<JobSignal>();
        services.AddSingleton<DownloadsInFlight>();
        services.AddSingleton(sp =>
        {
            var webhook = sp.GetRequiredService<IOptions<CallVaultOptions>>().Value.Webhook;
            return new GroupCommitEnqueuer(sp.GetRequiredService<IJobStore>().Queue, webhook.MaxQueuedEvents, webhook.QueueWait, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<WebhookIntake>();
        services.AddSingleton<ManifestWriter>();

        // Order matters: the initializer takes the data-folder lock and readies the database before the worker starts.
        services.AddHostedService<StartupInitializer>();
        services.AddSingleton<ChunkDownloadWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ChunkDownloadWorker>());
        services.AddHostedService<JobStatisticsSampler>();
        services.AddHostedService<ManifestSweeper>();

        builder.AddRecordingControl();

        services.AddHealthChecks()
            .AddCheck<ConfigurationHealthCheck>("configuration", tags: ["ready"])
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<StoreHealthCheck>("store", tags: ["ready"])
            .AddCheck<SessionsHealthCheck>("sessions", tags: ["ready"]);
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        services.AddOpenApi();
        services.AddSingleton<ApiAccessFilter>();
        return builder;
    }

    /// <summary>Maps the webhook, the read API and the health endpoints.</summary>
    public static WebApplication MapCallVault(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Validate every options type now, before any service is constructed, so all problems are reported together.
        app.Services.GetService<IStartupValidator>()?.Validate();
        // The dashboard: static files at /, which read everything through the API (and its access rules).
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapEventGridWebhook();
        app.MapRecordingsApi();
        app.MapJobsApi();
        app.MapEventsApi();
        app.MapSessionsApi();
        app.MapCallAutomationCallbacks();
        app.MapOpenApi();
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase),
            metrics => metrics.Use(async (context, next) =>
            {
                var api = context.RequestServices.GetRequiredService<IOptionsMonitor<CallVaultOptions>>().CurrentValue.Api;
                if (ApiAccessFilter.Allowed(context, api) is { } refusal)
                {
                    await refusal.ExecuteAsync(context);
                    return;
                }

                await next(context);
            }));
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapCallVaultHealth();
        return app;
    }
}

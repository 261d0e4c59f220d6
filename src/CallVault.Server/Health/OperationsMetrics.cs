using System.Diagnostics.Metrics;
using CallVault.Diagnostics;
using CallVault.Server.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace CallVault.Server.Health;

/// <summary>
/// The gauges that alert rules compare against (<c>deploy/prometheus/alerts.yml</c>): the configured limits, so that a
/// rule follows the service's settings instead of repeating them, and the local-disk store's free space.
/// <list type="bullet">
/// <item><c>callvault.acs.retention</c> and <c>callvault.acs.retention_warning</c> (seconds): <c>CallVault:AcsRetention</c>
/// (default 24 hours) and <c>CallVault:RetentionWarning</c> (default 4 hours).</item>
/// <item><c>callvault.webhook.expect_event_within</c> (seconds): <c>CallVault:Webhook:ExpectEventWithin</c>; absent when
/// it is not set, so the "no events" rule stays silent for a service not told to expect any.</item>
/// <item><c>callvault.start_time</c> (Unix seconds): when this instance started, so that the "no events" rule also
/// fires for a deployment that has never received an event since it started.</item>
/// <item><c>callvault.storage.free_bytes</c> and <c>callvault.storage.total_bytes</c>: the volume holding the recordings
/// folder; absent when recordings are kept in Azure Blob Storage, whose space is not ours to watch.</item>
/// </list>
/// Each is read when scraped, from the options as they are now and from one <c>statvfs</c> call: nothing waits on the
/// database.
/// </summary>
internal sealed class OperationsMetrics
{
    public OperationsMetrics(IMeterFactory meterFactory, IOptionsMonitor<CallVaultOptions> options, DataFolder dataFolder, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dataFolder);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var meter = meterFactory.Create(CallVaultMetrics.MeterName);
        var startedAt = timeProvider.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        meter.CreateObservableGauge(
            "callvault.start_time",
            () => startedAt,
            "s",
            "When this instance started, in Unix seconds.");
        meter.CreateObservableGauge(
            "callvault.acs.retention",
            () => options.CurrentValue.AcsRetention.TotalSeconds,
            "s",
            "How long ACS keeps a recording after its event (CallVault:AcsRetention); a chunk not stored by then is lost.");
        meter.CreateObservableGauge(
            "callvault.acs.retention_warning",
            () => options.CurrentValue.RetentionWarning.TotalSeconds,
            "s",
            "How close to the end of ACS retention a chunk not yet stored is flagged (CallVault:RetentionWarning).");
        meter.CreateObservableGauge(
            "callvault.webhook.expect_event_within",
            () => options.CurrentValue.Webhook.ExpectEventWithin is { } window
                ? [new Measurement<double>(window.TotalSeconds)]
                : Array.Empty<Measurement<double>>(),
            "s",
            "The longest expected silence between webhook events (CallVault:Webhook:ExpectEventWithin); absent when not set.");

        // Options are read inside the callbacks only: this constructor runs while the meter provider is built, which is
        // before start-up validation, and reading an invalid value here would throw one error instead of the host's
        // list of every configuration problem. The store is chosen once at start-up, so its folder is read once, at
        // the first scrape.
        var recordings = new Lazy<string?>(() => options.CurrentValue.Storage.Provider == StorageProvider.Disk ? dataFolder.RecordingsPath : null);
        meter.CreateObservableGauge(
            "callvault.storage.free_bytes",
            () => LocalVolume(recordings) is { } drive ? [new Measurement<long>(drive.AvailableFreeSpace)] : Array.Empty<Measurement<long>>(),
            "By",
            "Bytes free for CallVault on the volume that holds the recordings folder (local-disk store only).");
        meter.CreateObservableGauge(
            "callvault.storage.total_bytes",
            () => LocalVolume(recordings) is { } drive ? [new Measurement<long>(drive.TotalSize)] : Array.Empty<Measurement<long>>(),
            "By",
            "Size of the volume that holds the recordings folder (local-disk store only).");
    }

    /// <summary>The local-disk store's volume; null for Blob storage, which has no volume of ours to watch.</summary>
    private static DriveInfo? LocalVolume(Lazy<string?> recordings) => recordings.Value is { } folder ? Volume(folder) : null;

    /// <summary>The volume of <paramref name="folder"/>, or null while it cannot be read (folder removed, volume gone).</summary>
    private static DriveInfo? Volume(string folder)
    {
        try
        {
            var drive = new DriveInfo(folder);
            return drive.IsReady ? drive : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}

/// <summary>Registers <see cref="OperationsMetrics"/>.</summary>
internal static class OperationsMetricsExtensions
{
    /// <summary>Adds the gauges, created when the meter provider starts so that the first scrape has them.</summary>
    public static IServiceCollection AddOperationsMetrics(this IServiceCollection services)
    {
        services.AddSingleton<OperationsMetrics>();
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInstrumentation(sp => sp.GetRequiredService<OperationsMetrics>()));
        return services;
    }
}

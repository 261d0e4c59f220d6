using System.Diagnostics.Metrics;

namespace CallVault.Diagnostics;

/// <summary>CallVault's instruments, on the meter <see cref="MeterName"/> (exported at <c>/metrics</c> by the service).</summary>
public sealed class CallVaultMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "CallVault";

    private readonly Meter _meter;

    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">Creates the meter.</param>
    /// <param name="jobs">Where the job gauges read from.</param>
    /// <param name="timeProvider">The clock, for the age of the oldest pending chunk.</param>
    public CallVaultMetrics(IMeterFactory meterFactory, JobStatisticsCache jobs, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _meter = meterFactory.Create(MeterName);
        EventsReceived = _meter.CreateCounter<long>("callvault.events.received", "{event}", "Events received by the webhook, by type.");
        ChunksStored = _meter.CreateCounter<long>("callvault.chunks.stored", "{chunk}", "Chunks stored.");
        BytesDownloaded = _meter.CreateCounter<long>("callvault.bytes.downloaded", "By", "Media bytes downloaded and stored.");
        DownloadFailures = _meter.CreateCounter<long>("callvault.downloads.failed", "{attempt}", "Chunk attempts that failed, by outcome (retry or dead letter).");
        DownloadDuration = _meter.CreateHistogram<double>("callvault.download.duration", "s", "Time to store one chunk (media and metadata).");
        _meter.CreateObservableGauge<long>(
            "callvault.jobs",
            () => jobs.Latest is { } latest
                ? [.. latest.ByState.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("state", p.Key.ToString())))]
                : Array.Empty<Measurement<long>>(),
            "{chunk}",
            "Chunks by job state.");
        _meter.CreateObservableGauge<double>(
            "callvault.jobs.oldest_pending_age",
            () => jobs.Latest?.OldestPendingEventTime is { } oldest ? (timeProvider.GetUtcNow() - oldest).TotalSeconds : 0,
            "s",
            "Age of the oldest chunk not yet stored, from its event time; ACS deletes recordings after about 24 hours.");
    }

    /// <summary>Events received, tagged <c>type</c>.</summary>
    public Counter<long> EventsReceived { get; }

    /// <summary>Chunks stored.</summary>
    public Counter<long> ChunksStored { get; }

    /// <summary>Media bytes stored.</summary>
    public Counter<long> BytesDownloaded { get; }

    /// <summary>Failed attempts, tagged <c>outcome</c> (<c>retry</c> or <c>dead_letter</c>).</summary>
    public Counter<long> DownloadFailures { get; }

    /// <summary>Seconds to store a chunk.</summary>
    public Histogram<double> DownloadDuration { get; }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}

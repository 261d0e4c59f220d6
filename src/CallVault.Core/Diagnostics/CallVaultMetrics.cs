using System.Diagnostics.Metrics;

namespace CallVault.Diagnostics;

/// <summary>CallVault's instruments, on the meter <see cref="MeterName"/> (exported at <c>/metrics</c> by the service).</summary>
public sealed class CallVaultMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "CallVault";

    /// <summary>The <c>type</c> of events a delivery carried that were refused and kept as rejected.</summary>
    public const string RejectedEventLabel = "(rejected)";

    /// <summary>The <c>type</c> of events from a topic that is not one of the configured ACS resources.</summary>
    public const string ForeignTopicLabel = "(foreign topic)";

    /// <summary>The <c>type</c> of every event type not in <see cref="KnownEventTypes"/>.</summary>
    public const string OtherEventLabel = "other";

    /// <summary>
    /// Event types counted under their own name; any other type (chosen by whoever sends the event) is counted as
    /// <see cref="OtherEventLabel"/>, so that a sender cannot create an unbounded number of metric series.
    /// </summary>
    public static readonly IReadOnlyList<string> KnownEventTypes =
    [
        "Microsoft.Communication.RecordingFileStatusUpdated",
        "Microsoft.EventGrid.SubscriptionValidationEvent",
        "Microsoft.EventGrid.SubscriptionDeletedEvent",
    ];

    private readonly Meter _meter;
    private readonly Counter<long> _eventsReceived;

    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">Creates the meter.</param>
    /// <param name="jobs">Where the job gauges read from.</param>
    /// <param name="timeProvider">The clock, for the age of the oldest pending chunk.</param>
    /// <param name="downloadConnections">The connections the recording client's downloads hold open; 0 when null.</param>
    /// <param name="partBuffers">The part buffers the recording client's parallel downloads share; 0 when null.</param>
    public CallVaultMetrics(IMeterFactory meterFactory, JobStatisticsCache jobs, TimeProvider timeProvider, CallVault.Acs.Downloads.DownloadConnectionCounter? downloadConnections = null, CallVault.Acs.Downloads.PartBufferPool? partBuffers = null)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _meter = meterFactory.Create(MeterName);
        _eventsReceived = _meter.CreateCounter<long>("callvault.events.received", "{event}", "Events received by the webhook, by type (known types by name, any other as 'other').");
        WebhookUnauthorized = _meter.CreateCounter<long>("callvault.webhook.unauthorized", "{request}", "Webhook requests refused for a missing or wrong secret.");
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

        // Absent until the first event: an alert on "time() minus this" must not fire for a service never subscribed.
        _meter.CreateObservableGauge<double>(
            "callvault.events.last_received",
            () => jobs.Latest?.LastEventReceivedAt is { } last
                ? [new Measurement<double>(last.ToUnixTimeMilliseconds() / 1000.0)]
                : Array.Empty<Measurement<double>>(),
            "s",
            "When the last event accepted by the webhook (any instance) was received, in Unix seconds.");

        _meter.CreateObservableGauge<long>(
            "callvault.download.connections",
            () => downloadConnections?.Open ?? 0,
            "{connection}",
            "Connections fetching recording bytes now, over all workers; each download chooses its own count (adaptive by default).");

        // Rented bytes that never come back shut out parallel downloads for the rest of the process: this shows it.
        _meter.CreateObservableGauge<long>(
            "callvault.download.part_buffer_bytes",
            () => partBuffers?.RentedBytes ?? 0,
            "By",
            "Bytes of part buffers parallel downloads hold now, over all workers; at most CallVault:Acs:PartBufferBudgetBytes.");
    }

    /// <summary>Webhook requests refused for a missing or wrong secret (no tags).</summary>
    public Counter<long> WebhookUnauthorized { get; }

    /// <summary>Chunks stored.</summary>
    public Counter<long> ChunksStored { get; }

    /// <summary>Media bytes stored.</summary>
    public Counter<long> BytesDownloaded { get; }

    /// <summary>Failed attempts, tagged <c>outcome</c> (<c>retry</c> or <c>dead_letter</c>).</summary>
    public Counter<long> DownloadFailures { get; }

    /// <summary>Seconds to store a chunk.</summary>
    public Histogram<double> DownloadDuration { get; }

    /// <summary>
    /// The <c>type</c> tag for an event type: its canonical spelling when it is one of <see cref="KnownEventTypes"/>
    /// (compared without regard to case, as the webhook compares them), one of the fixed labels as it is, and
    /// <see cref="OtherEventLabel"/> for anything else, empty or missing included.
    /// </summary>
    public static string EventTypeLabel(string? eventType)
    {
        if (eventType is RejectedEventLabel or ForeignTopicLabel)
        {
            return eventType;
        }

        foreach (var known in KnownEventTypes)
        {
            if (string.Equals(known, eventType, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        return OtherEventLabel;
    }

    /// <summary>Counts events received by the webhook, tagged <c>type</c> with <see cref="EventTypeLabel"/>.</summary>
    /// <param name="eventType">The type as the event says it (any text), or one of the fixed labels.</param>
    /// <param name="count">How many events; default 1.</param>
    public void EventReceived(string? eventType, long count = 1) =>
        _eventsReceived.Add(count, new KeyValuePair<string, object?>("type", EventTypeLabel(eventType)));

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}

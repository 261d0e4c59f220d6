using System.Diagnostics.Metrics;
using CallVault.Diagnostics;

namespace CallVault.Recovery;

/// <summary>Dead-letter recovery's counters, on the service's meter (<see cref="CallVaultMetrics.MeterName"/>).</summary>
public sealed class DeadLetterRecoveryMetrics : IDisposable
{
    private readonly Meter _meter;

    /// <summary>Creates the counters.</summary>
    public DeadLetterRecoveryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(CallVaultMetrics.MeterName);
        BlobsRead = _meter.CreateCounter<long>("callvault.deadletter.blobs", "{blob}", "Dead-letter blobs read to the end (rejected ones included).");
        BlobsFailed = _meter.CreateCounter<long>("callvault.deadletter.blobs.failed", "{blob}", "Dead-letter blob reads that failed (tried again next pass, given up after MaxBlobFailures).");
        EventsRecovered = _meter.CreateCounter<long>("callvault.deadletter.events.recovered", "{event}", "Recording events from dead-letter blobs committed through the webhook's intake.");
        EventsSkipped = _meter.CreateCounter<long>("callvault.deadletter.events.skipped", "{event}", "Events in dead-letter blobs that are not recording events.");
        EventsLost = _meter.CreateCounter<long>("callvault.deadletter.events.lost", "{event}", "Recording events found after ACS's retention ran out: their chunks are lost.");
        EventsRejected = _meter.CreateCounter<long>("callvault.deadletter.events.rejected", "{event}", "Events (or whole blobs) in the dead-letter container that could not be read, kept as rejected events.");
    }

    /// <summary>Blobs read to the end.</summary>
    public Counter<long> BlobsRead { get; }

    /// <summary>Failed blob reads, one per blob per pass.</summary>
    public Counter<long> BlobsFailed { get; }

    /// <summary>Recording events committed.</summary>
    public Counter<long> EventsRecovered { get; }

    /// <summary>Other events, skipped.</summary>
    public Counter<long> EventsSkipped { get; }

    /// <summary>Recording events past retention.</summary>
    public Counter<long> EventsLost { get; }

    /// <summary>Unreadable events and blobs.</summary>
    public Counter<long> EventsRejected { get; }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}

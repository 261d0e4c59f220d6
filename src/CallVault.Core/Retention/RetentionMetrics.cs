using System.Diagnostics.Metrics;
using CallVault.Diagnostics;

namespace CallVault.Retention;

/// <summary>Retention's instruments, on the service's meter (<see cref="CallVaultMetrics.MeterName"/>).</summary>
public sealed class RetentionMetrics : IDisposable
{
    private readonly Meter _meter;
    private long _activeHolds;
    private long _failures;

    /// <summary>Creates the instruments.</summary>
    public RetentionMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(CallVaultMetrics.MeterName);
        Deleted = _meter.CreateCounter<long>("callvault.retention.deleted", "{recording}", "Recordings deleted from the store, by rule (retention or manual).");
        // Observable, so that the series exists at 0 from the first scrape: an alert on its increase then sees the
        // first failure as a change, and a rules file can be checked against the names the service exports.
        _meter.CreateObservableCounter("callvault.retention.failures", () => Interlocked.Read(ref _failures), "{deletion}", "Recording deletions that failed (their mark stays; the next sweep pass tries again).");
        Skipped = _meter.CreateCounter<long>("callvault.retention.skipped", "{pass}", "Retention sweep passes that refused to delete, by reason (clock_ahead).");
        _meter.CreateObservableGauge("callvault.holds.active", () => Interlocked.Read(ref _activeHolds), "{recording}", "Recordings under legal hold, as last counted (every sweep interval and on every change).");
    }

    /// <summary>Recordings deleted; label <c>rule</c> is <c>retention</c> or <c>manual</c>.</summary>
    public Counter<long> Deleted { get; }

    /// <summary>Recording deletions by the sweep that failed so far; each is tried again at the next pass.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Counts one deletion by the sweep that failed.</summary>
    public void RecordFailure() => Interlocked.Increment(ref _failures);

    /// <summary>Sweep passes that deleted nothing on purpose; label <c>reason</c> is <c>clock_ahead</c>.</summary>
    public Counter<long> Skipped { get; }

    /// <summary>Records the number of active holds last counted.</summary>
    public void SetActiveHolds(long count) => Interlocked.Exchange(ref _activeHolds, count);

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}

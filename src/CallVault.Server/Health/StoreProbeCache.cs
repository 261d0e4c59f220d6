using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Health;

/// <summary>
/// Runs the recording store's write probe at most once per <see cref="HealthOptions.StoreProbeInterval"/> and hands
/// every readiness request in between the same result, so that polling <c>/health/ready</c> (by an orchestrator every
/// second, or by anyone, since it is anonymous) costs no store writes. Concurrent requests that find the result stale
/// share one probe.
/// </summary>
internal sealed class StoreProbeCache(Func<CancellationToken, Task> probe, IOptionsMonitor<CallVaultOptions> options, TimeProvider timeProvider) : IDisposable
{
    private readonly SemaphoreSlim _probing = new(1, 1);
    private volatile Snapshot? _last;

    /// <summary>The cached result while it is younger than the interval; otherwise the result of a new probe.</summary>
    public async Task<HealthCheckResult> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } cached)
        {
            return cached;
        }

        await _probing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another request may have probed while this one waited.
            if (Fresh() is { } probedMeanwhile)
            {
                return probedMeanwhile;
            }

            var startedAt = timeProvider.GetTimestamp();
            HealthCheckResult result;
            try
            {
                await probe(cancellationToken).ConfigureAwait(false);
                result = HealthCheckResult.Healthy("The recording store is writable.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                result = HealthCheckResult.Unhealthy($"The recording store cannot be written: {ex.Message}");
            }

            // Aged from when the probe started, so a slow probe does not stretch the interval.
            _last = new Snapshot(result, startedAt);
            return result;
        }
        finally
        {
            _probing.Release();
        }
    }

    public void Dispose() => _probing.Dispose();

    private HealthCheckResult? Fresh() =>
        _last is { } last && timeProvider.GetElapsedTime(last.StartedAt) < options.CurrentValue.Health.StoreProbeInterval
            ? last.Result
            : null;

    private sealed record Snapshot(HealthCheckResult Result, long StartedAt);
}

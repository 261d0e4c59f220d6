using CallVault.Server.Health;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Server.Tests.Health;

/// <summary>The readiness probe's store check: one probe write per interval, whatever the number of requests.</summary>
public sealed class StoreProbeCacheTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 3, 9, 0, 0, TimeSpan.Zero));
    private readonly StoreProbeCache _cache;
    private int _probes;
    private Exception? _failure;

    public StoreProbeCacheTests()
    {
        var options = new CallVaultOptions { Health = { StoreProbeInterval = Interval } };
        _cache = new StoreProbeCache(Probe, new FixedOptions(options), _clock);
    }

    public void Dispose() => _cache.Dispose();

    private Task Probe(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _probes);
        return _failure is { } failure ? Task.FromException(failure) : Task.CompletedTask;
    }

    /// <summary>A hundred readiness requests within the interval, half of them at once, cost one probe write.</summary>
    [Fact]
    public async Task GetAsync_ManyHitsWithinInterval_ProbeOnce()
    {
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _cache.GetAsync(CancellationToken.None)));
        for (var i = 0; i < 50; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(500));
            Assert.Equal(HealthStatus.Healthy, (await _cache.GetAsync(CancellationToken.None)).Status);
        }

        Assert.Equal(1, _probes);
    }

    /// <summary>A store that fails just after a good probe is reported Unhealthy once the interval has passed, not later.</summary>
    [Fact]
    public async Task GetAsync_StoreFailsAfterAProbe_ReportedWithinTheInterval()
    {
        Assert.Equal(HealthStatus.Healthy, (await _cache.GetAsync(CancellationToken.None)).Status);
        _failure = new IOException("No space left on device");

        _clock.Advance(Interval - TimeSpan.FromMilliseconds(1));
        var stillCached = await _cache.GetAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var probedAgain = await _cache.GetAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Healthy, stillCached.Status);
        Assert.Equal(HealthStatus.Unhealthy, probedAgain.Status);
        Assert.Contains("No space left on device", probedAgain.Description, StringComparison.Ordinal);
        Assert.Equal(2, _probes);
    }

    /// <summary>A failure is cached like a success (a failing store is not hammered), and recovery shows after the interval.</summary>
    [Fact]
    public async Task GetAsync_FailingStore_ProbedOncePerIntervalAndRecoveryShows()
    {
        _failure = new IOException("read-only file system");
        Assert.Equal(HealthStatus.Unhealthy, (await _cache.GetAsync(CancellationToken.None)).Status);
        Assert.Equal(HealthStatus.Unhealthy, (await _cache.GetAsync(CancellationToken.None)).Status);
        _failure = null;
        _clock.Advance(Interval);

        Assert.Equal(HealthStatus.Healthy, (await _cache.GetAsync(CancellationToken.None)).Status);
        Assert.Equal(2, _probes);
    }

    /// <summary>Requests that arrive while a probe is running wait for it rather than start their own.</summary>
    [Fact]
    public async Task GetAsync_ConcurrentStaleHits_ShareOneProbe()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probes = 0;
        using var cache = new StoreProbeCache(
            async ct =>
            {
                Interlocked.Increment(ref probes);
                started.TrySetResult();
                await release.Task.WaitAsync(ct);
            },
            new FixedOptions(new CallVaultOptions()),
            _clock);

        var first = cache.GetAsync(CancellationToken.None);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var others = Enumerable.Range(0, 20).Select(_ => cache.GetAsync(CancellationToken.None)).ToList();
        release.SetResult();
        var results = await Task.WhenAll([first, .. others]).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(results, r => Assert.Equal(HealthStatus.Healthy, r.Status));
        Assert.Equal(1, probes);
    }

    private sealed class FixedOptions(CallVaultOptions value) : IOptionsMonitor<CallVaultOptions>
    {
        public CallVaultOptions CurrentValue => value;

        public CallVaultOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<CallVaultOptions, string?> listener) => null;
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.Operations;

/// <summary>
/// The gauges the alert rules need, read from a real service's <c>/metrics</c>: when the last event came, the
/// configured limits the rules compare against, and the free space of the local-disk store's volume.
/// </summary>
public sealed class OperationsMetricsTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _emulator.DisposeAsync();
    }

    /// <summary>Waits until the job statistics behind the gauges have been read once (<c>callvault_jobs</c> is there).</summary>
    private static async Task<string> MetricsOnceSampledAsync(IsolatedService server)
    {
        var metrics = string.Empty;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async ct =>
                {
                    metrics = await server.Client.GetStringAsync("metrics", ct);
                    return PrometheusExposition.Names(metrics).Contains("callvault_jobs");
                },
                TimeSpan.FromSeconds(30)),
            "The job gauges never appeared on /metrics.");
        return metrics;
    }

    [Fact]
    public async Task EventsLastReceived_AbsentUntilAnEventIsAccepted_ThenItsUnixTime()
    {
        await using var server = await IsolatedService.StartAsync(_emulator, s => s["CallVault:Webhook:ExpectEventWithin"] = "00:30:00");
        var before = await MetricsOnceSampledAsync(server);
        Assert.Null(PrometheusExposition.Single(before, "callvault_events_last_received_seconds"));
        Assert.Equal(1800, PrometheusExposition.Single(before, "callvault_webhook_expect_event_within_seconds"));

        var sent = TimeProvider.System.GetUtcNow();
        using (var subscribed = await _admin.PostAsJsonAsync("subscriptions", new { name = "callvault", endpoint = server.WebhookUrl.AbsoluteUri }))
        {
            Assert.True(subscribed.IsSuccessStatusCode, await subscribed.Content.ReadAsStringAsync());
        }

        using var recorded = await _admin.PostAsJsonAsync("recordings", new { durationSeconds = 1 });
        var recording = await recorded.Content.ReadFromJsonAsync<JsonElement>();
        await server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);

        double? lastReceived = null;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async ct =>
                {
                    lastReceived = PrometheusExposition.Single(await server.Client.GetStringAsync("metrics", ct), "callvault_events_last_received_seconds");
                    return lastReceived is not null;
                },
                TimeSpan.FromSeconds(30)),
            "callvault_events_last_received_seconds never appeared after an event was accepted.");
        Assert.InRange(lastReceived!.Value, sent.ToUnixTimeMilliseconds() / 1000.0 - 1, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0 + 1);
    }

    [Fact]
    public async Task ConfiguredLimits_AreExportedInSeconds_ExpectEventWithinOnlyWhenSet()
    {
        await using var server = await IsolatedService.StartAsync(_emulator, s => s["CallVault:RetentionWarning"] = "06:00:00");

        var metrics = await server.Client.GetStringAsync("metrics");

        Assert.Equal(24 * 3600, PrometheusExposition.Single(metrics, "callvault_acs_retention_seconds"));
        Assert.Equal(6 * 3600, PrometheusExposition.Single(metrics, "callvault_acs_retention_warning_seconds"));
        Assert.DoesNotContain("callvault_webhook_expect_event_within", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StorageBytes_DiskStore_AreThoseOfTheRecordingsVolume()
    {
        await using var server = await IsolatedService.StartAsync(_emulator);

        var metrics = await server.Client.GetStringAsync("metrics");

        var volume = new DriveInfo(server.RecordingsFolder);
        Assert.Equal(volume.TotalSize, PrometheusExposition.Single(metrics, "callvault_storage_total_bytes"));
        var free = PrometheusExposition.Single(metrics, "callvault_storage_free_bytes");
        Assert.NotNull(free);
        Assert.InRange(free.Value, 1, volume.TotalSize);
    }

    [Fact]
    public async Task StorageBytes_BlobStore_AreAbsent()
    {
        await using var server = await IsolatedService.StartAsync(_emulator, s =>
        {
            s["CallVault:Storage:Provider"] = "AzureBlob";
            s["CallVault:Storage:AzureBlob:ConnectionString"] = TestServices.Azurite;
            s["CallVault:Storage:AzureBlob:ContainerName"] = "recordings-" + Guid.NewGuid().ToString("N")[..16];
        });

        var metrics = await server.Client.GetStringAsync("metrics");

        Assert.NotNull(PrometheusExposition.Single(metrics, "callvault_acs_retention_seconds"));
        Assert.DoesNotContain("callvault_storage_", metrics, StringComparison.Ordinal);
    }
}

using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Diagnostics;
using CallVault.Emulator;
using CallVault.Testing;
using Xunit.Abstractions;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Traces over OTLP: the service runs as its own process, exporting to a receiver in the test through the standard
/// <c>OTEL_*</c> variables (set for that process only), and a recording's chunk shows as ONE trace from the webhook
/// delivery to stored and deleted from ACS, across a restart between the enqueue and the download (the traceparent
/// is read back from the database by the second process).
/// </summary>
public sealed class TracingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-traces-").FullName;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;
    private OtlpReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        _receiver = await OtlpReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _receiver.DisposeAsync();
        await _emulator.DisposeAsync();
        Directory.Delete(_dataFolder, recursive: true);
    }

    [Fact]
    public async Task OtlpEndpointSet_WebhookToStoredAcrossRestart_IsOneTraceWithIds()
    {
        var settings = ServerUnderTest.SettingsFor(_emulator, _dataFolder, _secret);
        var connectionString = settings["CallVault:Acs:ConnectionString"];
        settings["CallVault:DeleteAfterDownload"] = "true";
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiver.Endpoint.AbsoluteUri.TrimEnd('/');
        settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        settings["OTEL_SERVICE_NAME"] = "callvault-traced";
        settings["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        settings["OTEL_BLRP_SCHEDULE_DELAY"] = "100";
        settings["OTEL_METRIC_EXPORT_INTERVAL"] = "500";

        // First process: no ACS connection, so the webhook enqueues and nothing is downloaded.
        settings["CallVault:Acs:ConnectionString"] = null;
        await using var service = new ServiceChildProcess(settings);
        await service.StartAsync();
        using (var subscribe = await _admin.PostAsJsonAsync("subscriptions", new { endpoint = new Uri(service.BaseAddress, $"api/events?code={_secret}").AbsoluteUri }))
        {
            Assert.True(subscribe.IsSuccessStatusCode, await subscribe.Content.ReadAsStringAsync());
        }

        using var recorded = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 256 * 1024 });
        var recording = await recorded.Content.ReadFromJsonAsync<JsonElement>();
        var documentId = recording.GetProperty("chunks")[0].GetProperty("documentId").GetString()!;
        var callId = recording.GetProperty("callId").GetString()!;
        var recordingId = recording.GetProperty("recordingId").GetString()!;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(() => _receiver.Spans.Any(s => s.Name == CallVaultTelemetry.Spans.Enqueue && s[CallVaultTelemetry.Attributes.DocumentId] == documentId), TimeSpan.FromSeconds(60)),
            "The enqueue span was not exported:\n" + string.Join('\n', _receiver.Spans) + "\n" + service.StandardError);
        await service.StopAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(_receiver.Spans, s => s.Name == CallVaultTelemetry.Spans.Lease);

        // Second process, on the same database: the download continues the trace the first one started.
        settings["CallVault:Acs:ConnectionString"] = connectionString;
        await service.StartAsync();
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(() => _receiver.Spans.Any(s => s.Name == CallVaultTelemetry.Spans.Chunk && s[CallVaultTelemetry.Attributes.DocumentId] == documentId), TimeSpan.FromSeconds(60)),
            "The chunk's span was not exported:\n" + string.Join('\n', _receiver.Spans) + "\n" + service.StandardError);
        await service.StopAsync(TimeSpan.FromSeconds(30));

        var enqueue = _receiver.Spans.Single(s => s.Name == CallVaultTelemetry.Spans.Enqueue && s[CallVaultTelemetry.Attributes.DocumentId] == documentId);
        var trace = _receiver.Spans.Where(s => s.TraceId == enqueue.TraceId).ToList();
        foreach (var span in trace)
        {
            output.WriteLine(span.ToString());
        }

        // Liveness probes (polled while the service starts) are not traced.
        Assert.DoesNotContain(_receiver.Spans, s => s["url.path"] is { } path && path.StartsWith("/health", StringComparison.Ordinal));

        // The webhook delivery is ASP.NET Core's server span, the root the enqueue hangs from.
        var delivery = Assert.Single(trace, s => s.Kind == OtlpSpan.KindServer);
        Assert.Equal(delivery.SpanId, enqueue.ParentSpanId);
        Assert.Equal("callvault-traced", delivery.ServiceName);

        var lease = Assert.Single(trace, s => s.Name == CallVaultTelemetry.Spans.Lease);
        var chunk = Assert.Single(trace, s => s.Name == CallVaultTelemetry.Spans.Chunk);
        Assert.Equal(enqueue.SpanId, lease.ParentSpanId);
        Assert.Equal(enqueue.SpanId, chunk.ParentSpanId);
        foreach (var step in new[] { CallVaultTelemetry.Spans.Metadata, CallVaultTelemetry.Spans.Media, CallVaultTelemetry.Spans.Store, CallVaultTelemetry.Spans.Manifest, CallVaultTelemetry.Spans.DeleteFromAcs })
        {
            var span = Assert.Single(trace, s => s.Name == step);
            Assert.Equal(chunk.SpanId, span.ParentSpanId);
        }

        foreach (var span in new[] { enqueue, lease, chunk }.Concat(trace.Where(s => s.Scope == CallVaultTelemetry.ActivitySourceName)))
        {
            Assert.Equal(documentId, span[CallVaultTelemetry.Attributes.DocumentId]);
            Assert.Equal(callId, span[CallVaultTelemetry.Attributes.CallId]);
            Assert.Equal(recordingId, span[CallVaultTelemetry.Attributes.RecordingId]);
        }

        var media = trace.Single(s => s.Name == CallVaultTelemetry.Spans.Media);
        Assert.True(long.Parse(media[CallVaultTelemetry.Attributes.Bytes]!, System.Globalization.CultureInfo.InvariantCulture) >= 256 * 1024, media.ToString());
        Assert.NotNull(media[CallVaultTelemetry.Attributes.Requests]);
        Assert.NotNull(media[CallVaultTelemetry.Attributes.ConnectionsMax]);
        Assert.NotNull(media[CallVaultTelemetry.Attributes.ConnectionsPeak]);

        // The download's outgoing requests are in the trace too, below the steps that sent them.
        Assert.Contains(trace, s => s.Kind == 3 && s.ParentSpanId == media.SpanId);

        // Logs and metrics went over OTLP as well, and no export carries the webhook's key.
        Assert.Contains(_receiver.Bodies, b => b.Signal == "logs" && Contains(b.Body, documentId));
        Assert.Contains(_receiver.Bodies, b => b.Signal == "metrics" && Contains(b.Body, "callvault.chunks.stored"));
        Assert.DoesNotContain(_receiver.Bodies, b => Contains(b.Body, _secret));
    }

    /// <summary>
    /// A delivery that names its own trace, unsampled (anyone can send a <c>traceparent</c>, before authentication):
    /// the chunk is still traced, on a trace of the service's choosing, linked to the caller's rather than in it.
    /// </summary>
    [Fact]
    public async Task WebhookWithUnsampledTraceParent_ChunkIsTracedOnTheServicesOwnTrace()
    {
        var settings = ServerUnderTest.SettingsFor(_emulator, _dataFolder, _secret);
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiver.Endpoint.AbsoluteUri.TrimEnd('/');
        settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        settings["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        await using var service = new ServiceChildProcess(settings);
        await service.StartAsync();

        // No subscription: the test delivers the emulator's event itself, with the caller's trace context.
        using var recorded = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 64 * 1024 });
        var recording = await recorded.Content.ReadFromJsonAsync<JsonElement>();
        var documentId = recording.GetProperty("chunks")[0].GetProperty("documentId").GetString()!;
        var callerTraceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        using var client = new HttpClient { BaseAddress = service.BaseAddress };
        using var delivery = new HttpRequestMessage(HttpMethod.Post, $"api/events?code={_secret}") { Content = JsonContent.Create(new JsonArray(RecordingEvent(recording))) };
        delivery.Headers.Add("aeg-event-type", "Notification");
        delivery.Headers.Add("traceparent", $"00-{callerTraceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-00");
        using (var delivered = await client.SendAsync(delivery))
        {
            Assert.True(delivered.IsSuccessStatusCode, await delivered.Content.ReadAsStringAsync());
        }

        Assert.True(
            await WebhookRecorder.WaitUntilAsync(() => _receiver.Spans.Any(s => s.Name == CallVaultTelemetry.Spans.Chunk && s[CallVaultTelemetry.Attributes.DocumentId] == documentId), TimeSpan.FromSeconds(60)),
            "The chunk's span was not exported:\n" + string.Join('\n', _receiver.Spans) + "\n" + service.StandardError);
        await service.StopAsync(TimeSpan.FromSeconds(30));

        var enqueue = _receiver.Spans.Single(s => s.Name == CallVaultTelemetry.Spans.Enqueue && s[CallVaultTelemetry.Attributes.DocumentId] == documentId);
        var chunk = _receiver.Spans.Single(s => s.Name == CallVaultTelemetry.Spans.Chunk && s[CallVaultTelemetry.Attributes.DocumentId] == documentId);
        Assert.NotEqual(callerTraceId, enqueue.TraceId);
        Assert.Equal(enqueue.TraceId, chunk.TraceId);
        Assert.Equal(enqueue.SpanId, chunk.ParentSpanId);
        Assert.True(string.IsNullOrEmpty(enqueue.ParentSpanId), enqueue.ToString());
        Assert.DoesNotContain(_receiver.Spans, s => s.TraceId == callerTraceId && s.Scope == CallVaultTelemetry.ActivitySourceName);
    }

    /// <summary>The emulator's recording as Event Grid delivers its event.</summary>
    private JsonObject RecordingEvent(JsonElement recording)
    {
        var chunks = new JsonArray([.. recording.GetProperty("chunks").EnumerateArray().Select(c => (JsonNode)new JsonObject
        {
            ["documentId"] = c.GetProperty("documentId").GetString(),
            ["index"] = c.GetProperty("index").GetInt32(),
            ["endReason"] = c.GetProperty("endReason").GetString(),
            ["contentLocation"] = c.GetProperty("contentLocation").GetString(),
            ["metadataLocation"] = c.GetProperty("metadataLocation").GetString(),
            ["deleteLocation"] = c.GetProperty("deleteLocation").GetString(),
        })]);
        return new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["topic"] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/callvault-emulator/providers/microsoft.communication/communicationservices/emulator",
            ["subject"] = recording.GetProperty("subject").GetString(),
            ["eventType"] = "Microsoft.Communication.RecordingFileStatusUpdated",
            ["dataVersion"] = "1.0",
            ["metadataVersion"] = "1",
            ["eventTime"] = _emulator.Context.TimeProvider.GetUtcNow().ToString("O"),
            ["data"] = new JsonObject { ["recordingStorageInfo"] = new JsonObject { ["recordingChunks"] = chunks }, ["sessionEndReason"] = "CallEnded" },
        };
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}

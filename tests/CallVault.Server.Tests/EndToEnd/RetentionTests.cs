using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Retention and legal hold from outside the process: recordings stored from the emulator, one put under hold through
/// the API; once the service's clock passes KeepDays, the sweep deletes the other (files gone, 410 with its tombstone,
/// listed in tombstones, audited) while the held one stays and cannot be deleted by hand until the hold is cleared.
/// </summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private readonly SteppedTimeProvider _clock = new();
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(
            _emulator,
            settings =>
            {
                settings["CallVault:Retention:KeepDays"] = "30";
                settings["CallVault:Retention:SweepInterval"] = "00:00:01";
                // The clock jumps 31 days with nothing received meanwhile: past the default guard against a jumped clock.
                settings["CallVault:Retention:ClockLeadTolerance"] = "60.00:00:00";
            },
            _clock);
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await _admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Retention_PastKeepDays_DeletesTheUnheldRecording_TheHeldOneStaysUntilCleared()
    {
        var doomed = await StoredRecordingAsync();
        var held = await StoredRecordingAsync();
        var doomedKey = doomed.GetProperty("key").GetString()!;
        var heldKey = held.GetProperty("key").GetString()!;
        var doomedFiles = doomed.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("media").GetProperty("path").GetString()!).ToList();

        using (var hold = await SendAsync(HttpMethod.Put, $"api/recordings/{Uri.EscapeDataString(heldKey)}/hold", new { reason = "litigation 2026-114" }))
        {
            Assert.Equal(HttpStatusCode.Created, hold.StatusCode);
        }

        var heldHold = await _server.Client.GetFromJsonAsync<JsonElement>($"api/recordings/{Uri.EscapeDataString(heldKey)}/hold");
        Assert.Equal("litigation 2026-114", heldHold.GetProperty("hold").GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, (await _server.Client.GetFromJsonAsync<JsonElement>($"api/recordings/{Uri.EscapeDataString(doomedKey)}/hold")).GetProperty("hold").ValueKind);
        var view = await _server.Client.GetFromJsonAsync<JsonElement>($"api/recordings/{Uri.EscapeDataString(heldKey)}");
        Assert.Equal("litigation 2026-114", view.GetProperty("hold").GetProperty("reason").GetString());
        using (var refused = await SendAsync(HttpMethod.Delete, $"api/recordings/{Uri.EscapeDataString(heldKey)}"))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("legal hold", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var noReason = await SendAsync(HttpMethod.Put, $"api/recordings/{Uri.EscapeDataString(doomedKey)}/hold", new { reason = "  " }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        }

        _clock.Advance(TimeSpan.FromDays(31));
        var gone = await WaitForGoneAsync(doomedKey);

        Assert.Equal("retention:KeepDays=30", gone.GetProperty("tombstone").GetProperty("rule").GetString());
        Assert.All(doomedFiles, path => Assert.False(File.Exists(Path.Combine(_server.RecordingsFolder, path)), path));
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(heldKey)}")).StatusCode);
        var tombstones = await _server.Client.GetFromJsonAsync<JsonElement[]>("api/tombstones");
        var tombstone = Assert.Single(tombstones!);
        Assert.Equal(doomedKey, tombstone.GetProperty("recordingKey").GetString());
        Assert.Equal(64, tombstone.GetProperty("chunks")[0].GetProperty("mediaSha256").GetString()!.Length);
        Assert.Equal(heldKey, Assert.Single((await _server.Client.GetFromJsonAsync<JsonElement[]>("api/holds"))!).GetProperty("recordingKey").GetString());

        using (var clear = await SendAsync(HttpMethod.Delete, $"api/recordings/{Uri.EscapeDataString(heldKey)}/hold"))
        {
            Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        }

        Assert.Equal(JsonValueKind.Null, (await _server.Client.GetFromJsonAsync<JsonElement>($"api/recordings/{Uri.EscapeDataString(heldKey)}/hold")).GetProperty("hold").ValueKind);

        using (var deleted = await SendAsync(HttpMethod.Delete, $"api/recordings/{Uri.EscapeDataString(heldKey)}"))
        {
            // The sweep may have taken it first once the hold was cleared: either way it is gone, with one tombstone.
            Assert.Contains(deleted.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Gone });
        }

        await WaitForGoneAsync(heldKey);
        Assert.Equal(2, (await _server.Client.GetFromJsonAsync<JsonElement[]>("api/tombstones"))!.Length);
        var audit = await _server.Client.GetFromJsonAsync<JsonElement>("api/audit?take=1000");
        var actions = audit.GetProperty("records").EnumerateArray()
            .Select(r => (Action: r.GetProperty("action").GetString(), Key: r.GetProperty("recordingKey").GetString(), Who: r.GetProperty("who").GetString(), Status: r.GetProperty("status").GetInt32()))
            .ToList();
        Assert.Contains(("hold.set", heldKey, "local", 201), actions);
        Assert.Contains(("recording.delete", heldKey, "local", 409), actions);
        Assert.Contains(("recording.delete", doomedKey, "retention", 200), actions);
        Assert.Contains(("hold.clear", heldKey, "local", 200), actions);
        Assert.Contains(actions, a => a is { Action: "recording.delete", Status: 200 } && a.Key == heldKey);
    }

    /// <summary>
    /// ACS announcing a deleted recording's chunk again (a redelivery under a new event id) gets it refused and
    /// dead-lettered, and an operator's retry of it is refused with 409: stored beside the tombstone it would keep
    /// what was deleted, where retention never looks again.
    /// </summary>
    [Fact]
    public async Task DeletedRecording_ChunkAnnouncedAgain_IsDeadLettered_AndItsRetryRefused()
    {
        var emulated = await (await _admin.PostAsJsonAsync("recordings", new { durationSeconds = 2 })).Content.ReadFromJsonAsync<JsonElement>();
        var stored = await _server.WaitForRecordingAsync(emulated.GetProperty("callId").GetString()!, timeout: TimeSpan.FromSeconds(60));
        var key = stored.GetProperty("key").GetString()!;
        var documentId = stored.GetProperty("chunks")[0].GetProperty("documentId").GetString()!;
        using (var deleted = await SendAsync(HttpMethod.Delete, $"api/recordings/{Uri.EscapeDataString(key)}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        (await _admin.PostAsync($"recordings/{Uri.EscapeDataString(emulated.GetProperty("recordingId").GetString()!)}/publish?newEventIds=true", null)).EnsureSuccessStatusCode();
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!(await _server.Client.GetFromJsonAsync<JsonElement[]>("api/jobs/dead-letters"))!.Any(d => d.GetProperty("documentId").GetString() == documentId))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"Chunk {documentId} was not dead-lettered.");
            await Task.Delay(100);
        }

        using (var retry = await SendAsync(HttpMethod.Post, $"api/jobs/{Uri.EscapeDataString(documentId)}/retry"))
        {
            Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
            Assert.Contains("deleted", await retry.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Contains((await _server.Client.GetFromJsonAsync<JsonElement[]>("api/jobs/dead-letters"))!, d => d.GetProperty("documentId").GetString() == documentId);
        Assert.Contains((await _server.Client.GetFromJsonAsync<JsonElement[]>("api/tombstones"))!, t => t.GetProperty("recordingKey").GetString() == key);
        var media = stored.GetProperty("chunks")[0].GetProperty("media").GetProperty("path").GetString()!;
        Assert.False(File.Exists(Path.Combine(_server.RecordingsFolder, media)), media);
    }

    private async Task<JsonElement> StoredRecordingAsync()
    {
        var recording = await (await _admin.PostAsJsonAsync("recordings", new { durationSeconds = 2 })).Content.ReadFromJsonAsync<JsonElement>();
        return await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!, timeout: TimeSpan.FromSeconds(60));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Headers = { { "X-CallVault-Request", "1" } } };
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await _server.Client.SendAsync(request);
    }

    /// <summary>Polls until the recording answers 410 Gone; returns that answer's body.</summary>
    private async Task<JsonElement> WaitForGoneAsync(string key)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var response = await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}");
            if (response.StatusCode == HttpStatusCode.Gone)
            {
                return await response.Content.ReadFromJsonAsync<JsonElement>();
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"Recording {key} is still {response.StatusCode}.");
            await Task.Delay(100);
        }
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Server.Api;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The dashboard API against hostile or careless callers: a waveform is decoded once per media and width and then served
/// from memory (with an ETag the browser can revalidate), decodes beyond the limit are refused with 429 instead of
/// queueing, and timeline periods at the ends of the calendar are a 400, never a crash.
/// </summary>
public sealed class DashboardApiTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await _admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private async Task<string> StoreRecordingAsync()
    {
        var recording = await (await _admin.PostAsJsonAsync("recordings", new { durationSeconds = 3, channelType = "unmixed", participants = new[] { "8:acs:a", "8:acs:b" } })).Content.ReadFromJsonAsync<JsonElement>();
        var manifest = await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        return manifest.GetProperty("key").GetString()!;
    }

    [Fact]
    public async Task Waveform_IsDecodedOncePerMediaAndWidth_ThenServedFromMemory_WithAnETagAnd304()
    {
        var key = await StoreRecordingAsync();
        var peaks = _server.Services.GetRequiredService<WaveformPeaks>();
        var url = $"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/waveform?points=200";
        var before = peaks.DecodesStarted;

        using var first = await _server.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(before + 1, peaks.DecodesStarted);
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);

        using var second = await _server.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(before + 1, peaks.DecodesStarted);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(etag, second.Headers.ETag);

        // Another width is other peaks: decoded once, with its own tag.
        using var other = await _server.Client.GetAsync(url.Replace("points=200", "points=100", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(before + 2, peaks.DecodesStarted);
        Assert.NotEqual(etag, other.Headers.ETag);

        using var revalidate = new HttpRequestMessage(HttpMethod.Get, url);
        revalidate.Headers.IfNoneMatch.Add(etag);
        using var notModified = await _server.Client.SendAsync(revalidate);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(etag, notModified.Headers.ETag);
        Assert.Equal(before + 2, peaks.DecodesStarted);

        using var stale = new HttpRequestMessage(HttpMethod.Get, url);
        stale.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"0000-200\""));
        using var fresh = await _server.Client.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
    }

    [Fact]
    public async Task Waveform_BurstBeyondTheDecodeLimit_Is429WithRetryAfter_NotQueued()
    {
        var key = await StoreRecordingAsync();
        var peaks = _server.Services.GetRequiredService<WaveformPeaks>();
        var cached = $"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/waveform?points=50";
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync(cached)).StatusCode);

        // The test takes every decode slot itself, as a burst of slow decodes would.
        var held = new List<IDisposable>();
        try
        {
            while (peaks.TryStartDecode() is { } slot)
            {
                held.Add(slot);
            }

            Assert.Equal(Environment.ProcessorCount, held.Count);
            var burst = await Task.WhenAll(Enumerable.Range(1, 4).Select(i => _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/waveform?points={300 + i}")));
            foreach (var answer in burst)
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, answer.StatusCode);
                Assert.NotNull(answer.Headers.RetryAfter?.Delta);
                Assert.Contains("busy", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
                answer.Dispose();
            }

            // Peaks already decoded need no slot.
            Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync(cached)).StatusCode);
        }
        finally
        {
            held.ForEach(slot => slot.Dispose());
        }

        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/waveform?points=301")).StatusCode);
    }

    [Theory]
    [InlineData("bucket=hour&to=9999-12-31T23:30:00Z")]
    [InlineData("bucket=day&to=9999-12-31T23:30:00Z")]
    [InlineData("bucket=hour&from=9999-12-31T20:00:00Z&to=9999-12-31T23:59:59Z")]
    [InlineData("bucket=hour&to=0001-01-01T00:30:00Z")]
    [InlineData("bucket=day&to=0001-01-01T00:00:00Z")]
    [InlineData("bucket=hour&from=0001-01-01T00:00:00Z&to=0001-01-01T05:00:00Z")]
    public async Task Timeline_AtTheEndsOfTheCalendar_Is400WithAClearMessage(string query)
    {
        using var answer = await _server.Client.GetAsync($"api/stats/timeline?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        var detail = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        Assert.Contains("between", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timeline_InsideTheSupportedRange_StillAnswers()
    {
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync("api/stats/timeline?bucket=day&from=1970-01-01T00:00:00Z&to=1970-01-31T00:00:00Z")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync("api/stats/timeline?bucket=hour&from=9998-12-30T00:00:00Z&to=9998-12-31T00:00:00Z")).StatusCode);
    }
}

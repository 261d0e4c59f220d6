using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The access audit record from outside the process: every media, metadata and manifest read of a stored recording
/// (and every retry) is listed by <c>GET /api/audit</c> with the bytes the answer actually sent, from where, and the
/// status; a read the caller abandons records what was sent before it went away.
/// </summary>
public sealed class AuditTests : IAsyncLifetime
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

    private async Task<JsonElement> StoredRecordingAsync(object spec)
    {
        var recording = await (await _admin.PostAsJsonAsync("recordings", spec)).Content.ReadFromJsonAsync<JsonElement>();
        return await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!, timeout: TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// The record is appended once the answer has ended, which a client may see a moment before the commit: polls
    /// until <paramref name="count"/> records match.
    /// </summary>
    private async Task<JsonElement[]> WaitForAuditAsync(string query, int count)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var page = await _server.Client.GetFromJsonAsync<JsonElement>($"api/audit?{query}");
            var records = page.GetProperty("records").EnumerateArray().ToArray();
            if (records.Length >= count || deadline.Elapsed > TimeSpan.FromSeconds(20))
            {
                Assert.Equal(count, records.Length);
                return records;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task MediaReads_AreRecordedWithTheBytesSent()
    {
        var stored = await StoredRecordingAsync(new { durationSeconds = 2 });
        var key = stored.GetProperty("key").GetString()!;
        var length = stored.GetProperty("chunks")[0].GetProperty("media").GetProperty("length").GetInt64();
        var documentId = stored.GetProperty("chunks")[0].GetProperty("documentId").GetString()!;
        var media = $"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/media";

        var whole = await _server.Client.GetByteArrayAsync(media);
        using var ranged = new HttpRequestMessage(HttpMethod.Get, media) { Headers = { Range = new RangeHeaderValue(100, 1123) } };
        using var part = await _server.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(1024, (await part.Content.ReadAsByteArrayAsync()).Length);

        var records = await WaitForAuditAsync($"recording={Uri.EscapeDataString(key)}&take=10", 3);
        Assert.Equal(length, whole.LongLength);
        Assert.Equal(
            [("media.read", 1024L, 206), ("media.read", length, 200), ("manifest.read", records[2].GetProperty("bytes").GetInt64(), 200)],
            records.Select(r => (r.GetProperty("action").GetString()!, r.GetProperty("bytes").GetInt64(), r.GetProperty("status").GetInt32())));
        Assert.All(records.Take(2), r =>
        {
            Assert.Equal(documentId, r.GetProperty("documentId").GetString());
            Assert.Equal(0, r.GetProperty("chunkIndex").GetInt64());
            Assert.Equal("127.0.0.1", r.GetProperty("remoteAddress").GetString());
            Assert.False(r.GetProperty("aborted").GetBoolean());
            Assert.False(string.IsNullOrEmpty(r.GetProperty("who").GetString()));
        });
        Assert.True(records[2].GetProperty("bytes").GetInt64() > 100, "the manifest's bytes were not counted");
    }

    /// <summary>Metadata reads, reads of what is not there (probing), and retries are recorded too.</summary>
    [Fact]
    public async Task MetadataMissingChunkAndRetry_AreRecorded()
    {
        var stored = await StoredRecordingAsync(new { durationSeconds = 2 });
        var key = stored.GetProperty("key").GetString()!;
        var metadataLength = stored.GetProperty("chunks")[0].GetProperty("metadata").GetProperty("length").GetInt64();

        var metadata = await _server.Client.GetByteArrayAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/metadata");
        using var missing = await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/7/media");
        using var retryRequest = new HttpRequestMessage(HttpMethod.Post, "api/jobs/0-eus-d1-nothing-here/retry") { Headers = { { "X-CallVault-Request", "1" } } };
        using var retry = await _server.Client.SendAsync(retryRequest);

        Assert.Equal(metadataLength, metadata.LongLength);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, retry.StatusCode);
        var reads = await WaitForAuditAsync($"recording={Uri.EscapeDataString(key)}", 3);
        Assert.Equal(("media.read", 404, 7L), (reads[0].GetProperty("action").GetString(), reads[0].GetProperty("status").GetInt32(), reads[0].GetProperty("chunkIndex").GetInt64()));
        Assert.Equal(("metadata.read", metadataLength, 200), (reads[1].GetProperty("action").GetString(), reads[1].GetProperty("bytes").GetInt64(), reads[1].GetProperty("status").GetInt32()));
        var retried = Assert.Single(await WaitForAuditAsync("take=1000", 4), r => r.GetProperty("action").GetString() == "retry");
        Assert.Equal(("0-eus-d1-nothing-here", 404), (retried.GetProperty("documentId").GetString(), retried.GetProperty("status").GetInt32()));
    }

    /// <summary>A player that stops reading and goes away: the record says so, with what had been sent until then.</summary>
    [Fact]
    public async Task AbandonedRead_RecordsThePartialCount()
    {
        // Bigger than every buffer between the two ends (Kestrel's and the loopback socket's), so the answer cannot finish.
        const long size = 24 * 1024 * 1024;
        var stored = await StoredRecordingAsync(new { durationSeconds = 20, media = "synthetic", sizeBytes = size });
        var key = stored.GetProperty("key").GetString()!;

        using (var client = new HttpClient { BaseAddress = _server.BaseAddress })
        {
            using var response = await client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/media", HttpCompletionOption.ResponseHeadersRead);
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            await stream.ReadExactlyAsync(buffer);
        }

        // The manifest read by the wait above, then the media read.
        var record = (await WaitForAuditAsync($"recording={Uri.EscapeDataString(key)}", 2))[0];
        Assert.Equal("media.read", record.GetProperty("action").GetString());
        Assert.True(record.GetProperty("aborted").GetBoolean());
        var sent = record.GetProperty("bytes").GetInt64();
        Assert.True(sent is >= 64 * 1024 and < size, $"recorded {sent} bytes sent; the client read 65536 of {size}");
    }

    /// <summary>Filters and the cursor over HTTP; a cursor the service never gave out and a take out of range are a 400.</summary>
    [Fact]
    public async Task List_FiltersPagesAndRefusesBadInput()
    {
        var stored = await StoredRecordingAsync(new { durationSeconds = 2 });
        var key = stored.GetProperty("key").GetString()!;
        for (var i = 0; i < 3; i++)
        {
            (await _server.Client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/metadata")).EnsureSuccessStatusCode();
        }

        var all = await WaitForAuditAsync($"recording={Uri.EscapeDataString(key)}", 4);
        var first = await _server.Client.GetFromJsonAsync<JsonElement>($"api/audit?recording={Uri.EscapeDataString(key)}&take=3");
        var second = await _server.Client.GetFromJsonAsync<JsonElement>($"api/audit?recording={Uri.EscapeDataString(key)}&take=3&before={Uri.EscapeDataString(first.GetProperty("next").GetString()!)}");
        var who = all[0].GetProperty("who").GetString()!;
        var since = all[^1].GetProperty("at").GetDateTimeOffset();
        var until = all[0].GetProperty("at").GetDateTimeOffset().AddMilliseconds(1);
        var byOther = await _server.Client.GetFromJsonAsync<JsonElement>("api/audit?who=somebody-else");
        var recent = await _server.Client.GetFromJsonAsync<JsonElement>($"api/audit?who={Uri.EscapeDataString(who)}&since={Uri.EscapeDataString(since.ToString("O"))}&until={Uri.EscapeDataString(until.ToString("O"))}&recording={Uri.EscapeDataString(key)}");
        using var badCursor = await _server.Client.GetAsync("api/audit?before=12345");
        using var badTake = await _server.Client.GetAsync("api/audit?take=0");

        Assert.Equal(all.Select(r => r.GetProperty("id").GetString()), first.GetProperty("records").EnumerateArray().Concat(second.GetProperty("records").EnumerateArray()).Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);
        Assert.Equal(0, byOther.GetProperty("records").GetArrayLength());
        Assert.Equal(all.Select(r => r.GetProperty("id").GetString()), recent.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        var later = await _server.Client.GetFromJsonAsync<JsonElement>($"api/audit?recording={Uri.EscapeDataString(key)}&since={Uri.EscapeDataString(until.ToString("O"))}");
        Assert.Equal(0, later.GetProperty("records").GetArrayLength());
        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest), (badCursor.StatusCode, badTake.StatusCode));
        Assert.DoesNotContain("12345", await badCursor.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

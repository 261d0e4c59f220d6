using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>The REST API over a stored recording: media with Range, metadata, jobs and retry, OpenAPI, and /metrics.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private JsonElement _recording;
    private JsonElement _stored;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        _recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 3, channelType = "unmixed", participants = new[] { "8:acs:a", "4:+1555" } })).Content.ReadFromJsonAsync<JsonElement>();
        _stored = await _server.WaitForRecordingAsync(_recording.GetProperty("callId").GetString()!);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private string Key => _stored.GetProperty("key").GetString()!;

    [Fact]
    public async Task Media_WholeAndRanged_ComeFromTheStore()
    {
        var whole = await _server.Client.GetByteArrayAsync($"api/recordings/{Key}/chunks/0/media");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/recordings/{Key}/chunks/0/media");
        request.Headers.Range = new RangeHeaderValue(1000, 1099);
        using var ranged = await _server.Client.SendAsync(request);

        Assert.Equal(_recording.GetProperty("chunks")[0].GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(whole)));
        Assert.Equal(HttpStatusCode.PartialContent, ranged.StatusCode);
        Assert.Equal("audio/wav", ranged.Content.Headers.ContentType!.MediaType);
        Assert.Equal(whole.AsSpan(1000, 100).ToArray(), await ranged.Content.ReadAsByteArrayAsync());
        Assert.Equal(whole.Length, ranged.Content.Headers.ContentRange!.Length);
    }

    [Fact]
    public async Task Metadata_IsTheStoredDocument()
    {
        var metadata = await _server.Client.GetFromJsonAsync<JsonElement>($"api/recordings/{Key}/chunks/0/metadata");

        Assert.Equal(_recording.GetProperty("chunks")[0].GetProperty("documentId").GetString(), metadata.GetProperty("chunkDocumentId").GetString());
        Assert.Equal(2, metadata.GetProperty("participants").GetArrayLength());
    }

    [Theory]
    [InlineData("api/recordings/{key}/chunks/7/media")]
    [InlineData("api/recordings/no-such-recording/chunks/0/media")]
    [InlineData("api/recordings/no-such-recording")]
    public async Task Missing_Is404(string path)
    {
        using var response = await _server.Client.GetAsync(path.Replace("{key}", Key, StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Jobs_CountByStateAndRetryRefusesUnknownChunks()
    {
        var jobs = await _server.Client.GetFromJsonAsync<JsonElement>("api/jobs");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/jobs/0-eus-d1-unknown/retry");
        request.Headers.Add("X-CallVault-Request", "1");
        using var retry = await _server.Client.SendAsync(request);

        Assert.Equal(1, jobs.GetProperty("byState").GetProperty("Stored").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, retry.StatusCode);
    }

    [Fact]
    public async Task Jobs_ListByStateWithAttemptsAndNothingInFlightWhenIdle()
    {
        var stored = await _server.Client.GetFromJsonAsync<JsonElement>("api/jobs/chunks?state=stored");
        var pending = await _server.Client.GetFromJsonAsync<JsonElement>("api/jobs/chunks?state=Pending");
        var inFlight = await _server.Client.GetFromJsonAsync<JsonElement>("api/jobs/in-flight");
        using var unknown = await _server.Client.GetAsync("api/jobs/chunks?state=Sideways");

        var chunk = Assert.Single(stored.EnumerateArray());
        Assert.Equal(_recording.GetProperty("chunks")[0].GetProperty("documentId").GetString(), chunk.GetProperty("documentId").GetString());
        Assert.Equal(("Stored", 1), (chunk.GetProperty("state").GetString(), chunk.GetProperty("attempts").GetInt32()));
        Assert.Equal(0, pending.GetArrayLength());
        Assert.Equal(0, inFlight.GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("DeadLettered", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recordings_FilterByParticipantAndSortBySize()
    {
        // The recording's participants are 8:acs:a and 4:+1555; a phone number is found without its kind prefix.
        var byParticipant = await _server.Client.GetFromJsonAsync<JsonElement>("api/recordings?participant=%2B1555");
        var byNobody = await _server.Client.GetFromJsonAsync<JsonElement>("api/recordings?participant=4%3A%2B19999999999");
        var largest = await _server.Client.GetFromJsonAsync<JsonElement>("api/recordings?sort=largest&status=stored");
        using var badSort = await _server.Client.GetAsync("api/recordings?sort=sideways");
        using var badStatus = await _server.Client.GetAsync("api/recordings?status=sideways");

        Assert.Equal(Key, Assert.Single(byParticipant.EnumerateArray()).GetProperty("key").GetString());
        Assert.Equal(0, byNobody.GetArrayLength());
        Assert.True(Assert.Single(largest.EnumerateArray()).GetProperty("storedBytes").GetInt64() > 0);
        Assert.Equal(HttpStatusCode.BadRequest, badSort.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        Assert.Contains("downloading", await badStatus.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_DescribesTheApi()
    {
        var document = await _server.Client.GetStringAsync("openapi/v1.json");

        Assert.Contains("/api/recordings/{key}/chunks/{index}/media", document, StringComparison.Ordinal);
        Assert.Contains("/api/jobs/{documentId}/retry", document, StringComparison.Ordinal);
        Assert.Contains("/api/events/rejected", document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ExposeEventsChunksBytesAndJobsForPrometheus()
    {
        string text = string.Empty;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async ct => (text = await _server.Client.GetStringAsync("metrics", ct)).Contains("state=\"Stored\"", StringComparison.Ordinal),
                TimeSpan.FromSeconds(20)),
            text);

        Assert.Contains("callvault_events_received", text, StringComparison.Ordinal);
        Assert.Contains("type=\"Microsoft.Communication.RecordingFileStatusUpdated\"", text, StringComparison.Ordinal);
        Assert.Contains("callvault_chunks_stored", text, StringComparison.Ordinal);
        Assert.Contains("callvault_bytes_downloaded", text, StringComparison.Ordinal);
        Assert.Contains("callvault_download_duration", text, StringComparison.Ordinal);
        Assert.Contains("callvault_jobs_oldest_pending_age", text, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Secret, text, StringComparison.Ordinal);
    }
}

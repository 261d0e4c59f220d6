using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Recording control over real HTTP against the emulator's Call Automation: a session starts (201), follows its
/// state through the emulator's signed callbacks, pauses, resumes and stops, and links to its stored files; a retried
/// start with the same Idempotency-Key is one recording; bad requests and ACS's refusals are clear 4xx answers.
/// </summary>
public sealed class SessionsApiTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator, settings =>
        {
            settings["CallVault:Recording:CallbackAudience"] = AcsEmulatorOptions.DefaultResourceImmutableId;
            settings["CallVault:Recording:CallbackMetadataAddress"] = new Uri(_emulator.Endpoint, "calling/.well-known/acsopenidconfiguration").AbsoluteUri;
            settings["CallVault:Recording:FilesMissingAfter"] = "00:00:01";
        });

        // The callback address is the server's own, known only once it listens on its dynamic port.
        var configuration = (IConfigurationRoot)_server.Services.GetRequiredService<IConfiguration>();
        configuration["CallVault:Recording:PublicBaseUrl"] = _server.BaseAddress.AbsoluteUri;
        configuration.Reload();
        // A keyless caller on this machine proves a state change is not a cross-site form with this header, as the CLI does.
        _server.Client.DefaultRequestHeaders.Add("X-CallVault-Request", "1");
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await _admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    /// <summary>Start, pause, resume, stop: each state arrives by callback with a valid token, and the files link to the session.</summary>
    [Fact]
    public async Task Session_StartPauseResumeStop_FollowsCallbacksAndLinksItsFiles()
    {
        var call = await CreateCallAsync();

        using var started = await _server.Client.PostAsJsonAsync("api/sessions", new { serverCallId = call, format = "wav", channel = "unmixed", participantOrdering = new[] { "8:acs:agent", "4:+14255550123" } });
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var session = await started.Content.ReadFromJsonAsync<JsonElement>();
        var id = session.GetProperty("recordingId").GetString()!;
        Assert.Equal("Active", session.GetProperty("state").GetString());
        Assert.Equal("/api/sessions/" + Uri.EscapeDataString(id), started.Headers.Location!.OriginalString);
        await UntilCallbackAsync(id, "active");

        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(id, "pause")).StatusCode);
        var paused = await UntilCallbackAsync(id, "inactive");
        Assert.Equal("Paused", paused.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(id, "resume")).StatusCode);
        await UntilCallbackAsync(id, "active", count: 2);
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(id, "stop")).StatusCode);
        await UntilCallbackAsync(id, "inactive", count: 2);
        using var again = await PostAsync(id, "resume");

        var stored = await UntilAsync(
            () => _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString(id)),
            s => s.GetProperty("timeline").EnumerateArray().Any(e => e.GetProperty("event").GetString() == "stored"));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(("Stopped", false), (stored.GetProperty("state").GetString(), stored.GetProperty("filesMissing").GetBoolean()));
        var asked = stored.GetProperty("timeline").EnumerateArray().Where(e => e.GetProperty("source").GetString() == "Api").Select(e => e.GetProperty("event").GetString());
        Assert.Equal(["start", "pause", "resume", "stop"], asked);
        var key = stored.GetProperty("recording").GetProperty("key").GetString()!;
        var recording = await _server.Client.GetFromJsonAsync<JsonElement>("api/recordings/" + key);
        Assert.Equal(id, recording.GetProperty("recordingId").GetString());
    }

    /// <summary>
    /// A pause whose answer is lost (ACS paused, then the connection dropped) is not a refusal: the answer says the
    /// outcome is unknown, the pause stays noted, and ACS's "inactive" callback is read as the pause, not the end.
    /// </summary>
    [Fact]
    public async Task Pause_AnswerLost_OutcomeUnknown_CallbackStillReadAsThePause()
    {
        var id = (await StartAsync(new { serverCallId = await CreateCallAsync() })).GetProperty("recordingId").GetString()!;
        await UntilCallbackAsync(id, "active");
        var configuration = (IConfigurationRoot)_server.Services.GetRequiredService<IConfiguration>();
        configuration["CallVault:Acs:Retry:MaxRetryAttempts"] = "0";
        configuration.Reload();
        (await _admin.PostAsJsonAsync("faults", new { documentId = id, target = "RecordingControl", fault = new { type = "Reset" } })).EnsureSuccessStatusCode();

        using var lost = await PostAsync(id, "pause");
        var paused = await UntilCallbackAsync(id, "inactive");

        var answer = await lost.Content.ReadAsStringAsync();
        Assert.True(lost.StatusCode == HttpStatusCode.GatewayTimeout, $"{(int)lost.StatusCode}: {answer}");
        Assert.Contains("unknown", answer, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(("Paused", "Pause"), (paused.GetProperty("state").GetString(), paused.GetProperty("lastRequested").GetString()));
    }

    /// <summary>A call that ends while paused reads as paused until a resume gets ACS's 404: then the session is stopped.</summary>
    [Fact]
    public async Task Resume_AfterTheCallEndedWhilePaused_Is404AndStopsTheSession()
    {
        var call = await CreateCallAsync();
        var id = (await StartAsync(new { serverCallId = call })).GetProperty("recordingId").GetString()!;
        await UntilCallbackAsync(id, "active");
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(id, "pause")).StatusCode);
        await UntilCallbackAsync(id, "inactive");
        (await _admin.DeleteAsync("calls/" + Uri.EscapeDataString(call))).EnsureSuccessStatusCode();

        using var resume = await PostAsync(id, "resume");
        var session = await _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString(id));

        Assert.Equal(HttpStatusCode.NotFound, resume.StatusCode);
        Assert.Equal("Stopped", session.GetProperty("state").GetString());
    }

    /// <summary>A start retried with the same Idempotency-Key answers the same session and starts one recording.</summary>
    [Fact]
    public async Task Start_RetriedWithTheSameIdempotencyKey_StartsOneRecording()
    {
        var call = await CreateCallAsync();

        var first = await StartAsync(new { serverCallId = call }, "retry-1");
        var second = await StartAsync(new { serverCallId = call }, "retry-1");
        using var reused = await SendStartAsync(new { serverCallId = call, format = "mp3" }, "retry-1");

        Assert.Equal(first.GetProperty("recordingId").GetString(), second.GetProperty("recordingId").GetString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        var emulated = await _admin.GetFromJsonAsync<JsonElement>("calls/" + call);
        Assert.Equal(1, emulated.GetProperty("recordings").GetArrayLength());
        Assert.Single(await _server.Client.GetFromJsonAsync<JsonElement[]>("api/sessions") ?? []);
    }

    /// <summary>A call whose files never come: after the call ends the session turns files missing within the window.</summary>
    [Fact]
    public async Task CallEnded_FilesNeverPublished_TurnsFilesMissing()
    {
        var call = await CreateCallAsync(publishFiles: false);
        var id = (await StartAsync(new { serverCallId = call })).GetProperty("recordingId").GetString()!;
        await UntilCallbackAsync(id, "active");

        (await _admin.DeleteAsync("calls/" + call)).EnsureSuccessStatusCode();

        var missing = await UntilAsync(
            () => _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString(id)),
            s => s.GetProperty("filesMissing").GetBoolean());
        Assert.Equal("Stopped", missing.GetProperty("state").GetString());
        Assert.Equal(id, Assert.Single(await _server.Client.GetFromJsonAsync<JsonElement[]>("api/sessions?filesMissing=true") ?? []).GetProperty("recordingId").GetString());
    }

    /// <summary>Requests that can never succeed are 400 with a message that says why; nothing reaches ACS.</summary>
    [Theory]
    [InlineData("{}", "exactly one of serverCallId and groupCallId")]
    [InlineData("""{"serverCallId":"a","groupCallId":"b"}""", "exactly one of serverCallId and groupCallId")]
    [InlineData("""{"serverCallId":"a","format":"flac"}""", "Unknown format")]
    [InlineData("""{"serverCallId":"a","format":"mp4"}""", "mp4 is for content audioVideo")]
    [InlineData("""{"serverCallId":"a","channel":"unmixed","format":"mp3"}""", "Unmixed audio is recorded as wav")]
    [InlineData("""{"serverCallId":"a","channelAffinity":[{"channel":9,"participant":"8:acs:a"}]}""", "channelAffinity")]
    [InlineData("""{"serverCallId":"a","externalStorageContainerUrl":"http://acct.blob.core.windows.net/c"}""", "externalStorageContainerUrl")]
    [InlineData("""{"serverCallId":""", "not a valid start request")]
    public async Task Start_Invalid_Is400WithTheReason(string body, string reason)
    {
        using var response = await _server.Client.PostAsync("api/sessions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await _server.Client.GetFromJsonAsync<JsonElement[]>("api/sessions") ?? []);
    }

    /// <summary>ACS's refusal of an unknown call is a 404 that says so; an unknown session is 404; a bad filter is 400.</summary>
    [Fact]
    public async Task UnknownCallOrSession_Is404_BadFilter400()
    {
        using var unknownCall = await SendStartAsync(new { serverCallId = "no-such-call" }, null);
        using var unknownSession = await PostAsync("no-such-recording", "pause");
        using var getUnknown = await _server.Client.GetAsync("api/sessions/no-such-recording");
        using var badFilter = await _server.Client.GetAsync("api/sessions?state=Sideways");

        Assert.Equal(HttpStatusCode.NotFound, unknownCall.StatusCode);
        Assert.Contains("acsStatus", await unknownCall.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownSession.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, getUnknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badFilter.StatusCode);
    }

    private async Task<string> CreateCallAsync(bool publishFiles = true)
    {
        using var response = await _admin.PostAsJsonAsync("calls", new { participants = new[] { "8:acs:agent", "4:+14255550123" }, publishFiles });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("serverCallId").GetString()!;
    }

    private async Task<JsonElement> StartAsync(object body, string? idempotencyKey = null)
    {
        using var response = await SendStartAsync(body, idempotencyKey);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<HttpResponseMessage> SendStartAsync(object body, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/sessions") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await _server.Client.SendAsync(request);
    }

    private Task<HttpResponseMessage> PostAsync(string recordingId, string action) =>
        _server.Client.PostAsync($"api/sessions/{Uri.EscapeDataString(recordingId)}/{action}", null);

    /// <summary>Waits until the session's timeline holds <paramref name="count"/> callbacks reporting <paramref name="state"/>.</summary>
    private Task<JsonElement> UntilCallbackAsync(string recordingId, string state, int count = 1) => UntilAsync(
        () => _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString(recordingId)),
        s => s.GetProperty("timeline").EnumerateArray().Count(e => e.GetProperty("source").GetString() == "Callback" && e.GetProperty("event").GetString() == state) >= count);

    private static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"The condition was not met in time; last value: {(value is JsonElement json ? json.GetRawText() : value)}");
            }

            await Task.Delay(100);
        }
    }
}

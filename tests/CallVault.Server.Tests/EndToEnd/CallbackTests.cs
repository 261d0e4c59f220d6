using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallVault.Jobs;
using CallVault.Sessions;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// <c>POST /api/callbacks</c> over real HTTP: a callback with a valid Call Automation token (checked through OpenID
/// Connect discovery against a loopback issuer) updates its session; anything else is 401 and changes nothing.
/// </summary>
public sealed class CallbackTests : IAsyncLifetime
{
    private CallbackTokenIssuer _issuer = null!;
    private ServerUnderTest _server = null!;

    public async Task InitializeAsync()
    {
        _issuer = await CallbackTokenIssuer.StartAsync();
        _server = await ServerUnderTest.StartAsync(null, settings =>
        {
            settings["CallVault:Recording:PublicBaseUrl"] = "https://callvault.example.com/";
            settings["CallVault:Recording:CallbackAudience"] = _issuer.Audience;
            settings["CallVault:Recording:CallbackMetadataAddress"] = _issuer.MetadataAddress.AbsoluteUri;
        });
        await _server.Services.GetRequiredService<IJobStore>().Sessions.RecordStartAsync(
            new SessionStart { RecordingId = "rec/1+=", ServerCallId = "server-1", AcsState = "active", Actor = "alice", StartedAt = TimeProvider.System.GetUtcNow().AddMinutes(-1) },
            default);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _issuer.DisposeAsync();
    }

    /// <summary>A valid token: the session follows the callback, once however often it is delivered; other events are counted and ignored.</summary>
    [Fact]
    public async Task Callback_WithAValidToken_UpdatesTheSessionOnce()
    {
        var body = CallbackBody.StateChanged("rec/1+=", "inactive", TimeProvider.System.GetUtcNow(), "event-1");

        using var first = await PostAsync(body, _issuer.Token());
        using var again = await PostAsync(body, _issuer.Token());
        using var other = await PostAsync(CallbackBody.Of("Microsoft.Communication.ParticipantsUpdated", new { serverCallId = "server-1" }), _issuer.Token());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(1, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("applied").GetInt32());
        Assert.Equal(1, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetInt32());
        Assert.Equal(1, (await other.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ignored").GetInt32());
        var session = await _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString("rec/1+="));
        Assert.Equal("Stopped", session.GetProperty("state").GetString());
        Assert.Equal(["start", "inactive"], session.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
        Assert.Equal("Callback", session.GetProperty("timeline")[1].GetProperty("source").GetString());
    }

    /// <summary>StartRecordingFailed fails the session, with ACS's reason.</summary>
    [Fact]
    public async Task StartRecordingFailed_FailsTheSession()
    {
        var body = CallbackBody.Of(
            "Microsoft.Communication.StartRecordingFailed",
            new { recordingId = "rec/1+=", serverCallId = "server-1", resultInformation = new { code = 400, subCode = 8500, message = "The call ended before recording started." } });

        using var response = await PostAsync(body, _issuer.Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var session = await _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString("rec/1+="));
        Assert.Equal(("Failed", "The call ended before recording started."), (session.GetProperty("state").GetString(), session.GetProperty("detail").GetString()));
    }

    /// <summary>No token, an expired one, one signed by another key, for another audience or from another issuer, or a secret that is not configured: 401, and nothing changes.</summary>
    [Theory]
    [InlineData("none")]
    [InlineData("expired")]
    [InlineData("other-key")]
    [InlineData("other-audience")]
    [InlineData("other-issuer")]
    [InlineData("garbage")]
    [InlineData("secret-in-query")]
    public async Task Callback_WithoutAValidToken_Is401AndChangesNothing(string kind)
    {
        var token = kind switch
        {
            "expired" => _issuer.Token(expires: TimeProvider.System.GetUtcNow().AddMinutes(-10)),
            "other-key" => _issuer.Token(otherKey: true),
            "other-audience" => _issuer.Token(audience: Guid.NewGuid().ToString("D")),
            "other-issuer" => _issuer.Token(issuer: "https://attacker.example.com"),
            "garbage" => "not.a.token",
            _ => null,
        };

        using var response = await PostAsync(CallbackBody.StateChanged("rec/1+=", "inactive", TimeProvider.System.GetUtcNow()), token, kind == "secret-in-query" ? "?code=0123456789abcdef0123" : "");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var session = await _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString("rec/1+="));
        Assert.Equal("Active", session.GetProperty("state").GetString());
        Assert.Equal(1, session.GetProperty("timeline").GetArrayLength());
    }

    /// <summary>A body that is not JSON is 400; an event without a recording id is counted as invalid and changes nothing.</summary>
    [Fact]
    public async Task Callback_Unreadable_IsRefusedOrCountedInvalid()
    {
        using var notJson = await PostAsync("{not json", _issuer.Token());
        using var noRecording = await PostAsync(CallbackBody.Of("Microsoft.Communication.RecordingStateChanged", new { state = "inactive" }), _issuer.Token());

        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(1, (await noRecording.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("invalid").GetInt32());
    }

    /// <summary>Where the operator chose a secret instead of the token: the callback URL carries it, and only it is accepted.</summary>
    [Fact]
    public async Task SecretMode_AcceptsOnlyTheSecret()
    {
        const string Secret = "callback-secret-0123456789";
        await using var server = await ServerUnderTest.StartAsync(null, settings =>
        {
            settings["CallVault:Recording:PublicBaseUrl"] = "https://callvault.example.com/base";
            settings["CallVault:Recording:CallbackSecrets:0"] = Secret;
        });
        await server.Services.GetRequiredService<IJobStore>().Sessions.RecordStartAsync(
            new SessionStart { RecordingId = "rec-s", AcsState = "active", StartedAt = TimeProvider.System.GetUtcNow().AddMinutes(-1) },
            default);
        var options = server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<CallVault.Server.Sessions.RecordingControlOptions>>().Value;

        using var wrong = await server.Client.PostAsync("api/callbacks?code=wrong-secret-0123456789", new StringContent(CallbackBody.StateChanged("rec-s", "inactive", TimeProvider.System.GetUtcNow()), Encoding.UTF8, "application/json"));
        using var right = await server.Client.PostAsync($"api/callbacks?code={Secret}", new StringContent(CallbackBody.StateChanged("rec-s", "inactive", TimeProvider.System.GetUtcNow()), Encoding.UTF8, "application/json"));

        Assert.Equal($"https://callvault.example.com/base/api/callbacks?code={Secret}", options.CallbackUri().AbsoluteUri);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    /// <summary>A public address without a way to authenticate callbacks, or a window of zero, stops the service at start-up with every reason.</summary>
    [Fact]
    public async Task Options_Invalid_FailAtStartUp()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => ServerUnderTest.StartAsync(null, settings =>
        {
            settings["CallVault:Recording:PublicBaseUrl"] = "https://callvault.example.com/";
            settings["CallVault:Recording:FilesMissingAfter"] = "00:00:00";
        }));

        Assert.Contains("CallbackAudience", failure.Message, StringComparison.Ordinal);
        Assert.Contains("FilesMissingAfter", failure.Message, StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> PostAsync(string body, string? token, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/callbacks" + query) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _server.Client.SendAsync(request);
    }
}

/// <summary>Call Automation callback bodies: a JSON array of CloudEvents.</summary>
internal static class CallbackBody
{
    public static string StateChanged(string recordingId, string state, DateTimeOffset time, string? id = null, string serverCallId = "server-1") =>
        Of("Microsoft.Communication.RecordingStateChanged", new { recordingId, state, serverCallId, startDateTime = time, recordingKind = "azureCommunicationServices" }, time, id);

    public static string Of(string type, object data, DateTimeOffset? time = null, string? id = null) => JsonSerializer.Serialize(new[]
    {
        new
        {
            id = id ?? Guid.NewGuid().ToString("D"),
            source = "calling/recordings/server-1/RecordingStateChanged",
            type,
            specversion = "1.0",
            time = time ?? TimeProvider.System.GetUtcNow(),
            datacontenttype = "application/json",
            data,
        },
    });
}

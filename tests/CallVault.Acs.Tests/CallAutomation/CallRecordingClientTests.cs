using System.Globalization;
using System.Text;
using System.Text.Json;
using CallVault.Acs.CallAutomation;
using CallVault.Acs.Authentication;
using CallVault.Acs.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Acs.Tests.CallAutomation;

/// <summary>
/// The Call Automation recording client over real HTTP against a loopback server that verifies each signature,
/// body hash included, and answers as scripted.
/// </summary>
public sealed class CallRecordingClientTests : IAsyncLifetime
{
    private const string RecordingId = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiJ+/w+P9ifQ==";
    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private CallAutomationStubServer _server = null!;
    private ServiceProvider? _services;

    public async Task InitializeAsync() => _server = await CallAutomationStubServer.StartAsync(Convert.FromBase64String(TestOptions.Key));

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    private CallRecordingClient CreateClient(Action<AcsClientOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddCallRecordingClient(options =>
        {
            options.ConnectionString = $"endpoint={_server.Endpoint};accesskey={TestOptions.Key}";
            options.AllowedHosts.Add(_server.Endpoint.GetLeftPart(UriPartial.Authority));
            options.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
            options.Retry.MaxDelay = TimeSpan.FromMilliseconds(20);
            configure?.Invoke(options);
        });
        _services = services.BuildServiceProvider(validateScopes: true);
        return _services.GetRequiredService<CallRecordingClient>();
    }

    [Fact]
    public async Task StartAsync_EveryOption_SendsTheStartRecordingRequestSignedWithItsBodyHash()
    {
        var client = CreateClient();
        var requestId = Guid.NewGuid();

        var result = await client.StartAsync(new StartRecordingRequest
        {
            ServerCallId = "aHR0cHM6Ly9zZXJ2ZXIvY2FsbA",
            Content = "audio",
            Channel = "unmixed",
            Format = "wav",
            PauseOnStart = true,
            AudioChannelParticipantOrdering = ["8:acs:res_user-1", "4:+14255550123", "8:orgid:teams-user"],
            ChannelAffinity = [new RecordingChannelAffinity(1, "8:acs:res_user-1")],
            ExternalStorageContainerUrl = new Uri("https://account.blob.core.windows.net/recordings"),
            RecordingStateCallbackUri = new Uri("https://callvault.example/api/callbacks"),
            RepeatabilityRequestId = requestId,
        });

        Assert.Equal(new RecordingStateResult("rec-1", "active", "azureCommunicationServices"), result);
        var sent = Assert.Single(_server.Requests);
        Assert.True(sent.SignatureValid);
        Assert.Equal("POST", sent.Method);
        Assert.Equal("/calling/recordings?api-version=2025-05-15", sent.RawTarget);
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(sent.Body)), sent.Headers["x-ms-content-sha256"]);
        Assert.Equal(requestId.ToString("D"), sent.Headers["Repeatability-Request-ID"]);
        Assert.True(DateTimeOffset.TryParseExact(sent.Headers["Repeatability-First-Sent"], "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _));
        Assert.StartsWith("application/json", sent.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(
            Normalize("""
            {
              "callLocator": {"serverCallId": "aHR0cHM6Ly9zZXJ2ZXIvY2FsbA", "kind": "serverCallLocator"},
              "recordingStateCallbackUri": "https://callvault.example/api/callbacks",
              "recordingContentType": "audio",
              "recordingChannelType": "unmixed",
              "recordingFormatType": "wav",
              "audioChannelParticipantOrdering": [
                {"kind": "communicationUser", "rawId": "8:acs:res_user-1", "communicationUser": {"id": "8:acs:res_user-1"}},
                {"kind": "phoneNumber", "rawId": "4:+14255550123", "phoneNumber": {"value": "+14255550123", "isAnonymous": false}},
                {"rawId": "8:orgid:teams-user"}
              ],
              "channelAffinity": [
                {"channel": 1, "participant": {"kind": "communicationUser", "rawId": "8:acs:res_user-1", "communicationUser": {"id": "8:acs:res_user-1"}}}
              ],
              "pauseOnStart": true,
              "externalStorage": {"recordingStorageKind": "azureBlobStorage", "recordingDestinationContainerUrl": "https://account.blob.core.windows.net/recordings"}
            }
            """),
            Encoding.UTF8.GetString(sent.Body));
    }

    [Fact]
    public async Task StartAsync_GroupCallAndConfiguredApiVersion_SendsAGroupLocatorAtThatVersion()
    {
        var client = CreateClient(o => o.CallAutomationApiVersion = "2024-09-15");

        await client.StartAsync(new StartRecordingRequest { GroupCallId = "3f1c1a2e-9a6b-4c1e-8b7e-2a1d0c9b8a7f" });

        var sent = Assert.Single(_server.Requests);
        Assert.Equal("/calling/recordings?api-version=2024-09-15", sent.RawTarget);
        Assert.Equal(
            """{"callLocator":{"groupCallId":"3f1c1a2e-9a6b-4c1e-8b7e-2a1d0c9b8a7f","kind":"groupCallLocator"}}""",
            Encoding.UTF8.GetString(sent.Body));
        Assert.True(Guid.TryParse(sent.Headers["Repeatability-Request-ID"], out _));
    }

    [Fact]
    public async Task StartAsync_AnswerLostThenRetried_EveryAttemptCarriesTheSameRepeatabilityHeadersAndBody()
    {
        var client = CreateClient();
        _server.Script.Enqueue((503, """{"error":{"code":"ServiceUnavailable","message":"try again"}}"""));
        _server.Script.Enqueue((500, string.Empty));

        var result = await client.StartAsync(new StartRecordingRequest { ServerCallId = "server-call" });

        Assert.Equal("rec-1", result.RecordingId);
        var attempts = _server.Requests.ToArray();
        Assert.Equal(3, attempts.Length);
        Assert.All(attempts, a => Assert.True(a.SignatureValid));
        Assert.Single(attempts.Select(a => a.Headers["Repeatability-Request-ID"]).Distinct());
        Assert.Single(attempts.Select(a => a.Headers["Repeatability-First-Sent"]).Distinct());
        Assert.Single(attempts.Select(a => Convert.ToBase64String(a.Body)).Distinct());
    }

    [Fact]
    public async Task StartAsync_TwoLogicalStarts_GetDifferentRequestIds()
    {
        var client = CreateClient();

        await client.StartAsync(new StartRecordingRequest { ServerCallId = "server-call" });
        await client.StartAsync(new StartRecordingRequest { ServerCallId = "server-call" });

        Assert.Equal(2, _server.Requests.Select(a => a.Headers["Repeatability-Request-ID"]).Distinct().Count());
    }

    [Fact]
    public async Task PauseResumeGetStop_RecordingIdWithReservedCharacters_IsEscapedInThePathAndSigned()
    {
        var client = CreateClient();
        _server.Script.Enqueue((202, string.Empty));
        _server.Script.Enqueue((202, string.Empty));
        _server.Script.Enqueue((200, $$"""{"recordingId":"{{RecordingId}}","recordingState":"inactive"}"""));
        _server.Script.Enqueue((204, string.Empty));

        await client.PauseAsync(RecordingId);
        await client.ResumeAsync(RecordingId);
        var state = await client.GetAsync(RecordingId);
        await client.StopAsync(RecordingId);

        Assert.Equal(new RecordingStateResult(RecordingId, "inactive", null), state);
        var escaped = Uri.EscapeDataString(RecordingId);
        Assert.Contains("%2F", escaped, StringComparison.Ordinal);
        Assert.Contains("%2B", escaped, StringComparison.Ordinal);
        Assert.Equal(
            [
                $"POST /calling/recordings/{escaped}:pause?api-version=2025-05-15",
                $"POST /calling/recordings/{escaped}:resume?api-version=2025-05-15",
                $"GET /calling/recordings/{escaped}?api-version=2025-05-15",
                $"DELETE /calling/recordings/{escaped}?api-version=2025-05-15",
            ],
            _server.Requests.Select(r => $"{r.Method} {r.RawTarget}"));
        Assert.All(_server.Requests, r => Assert.True(r.SignatureValid));
        Assert.All(_server.Requests, r => Assert.Equal(AcsHmacSigner.EmptyContentHash, r.Headers["x-ms-content-sha256"]));
    }

    [Fact]
    public async Task StartAsync_UnknownServerCall_ThrowsWithTheStatusCodeAndAMessageNamingTheCall()
    {
        var client = CreateClient();
        _server.Script.Enqueue((404, """{"error":{"code":"8522","message":"Call not found."}}"""));

        var error = await Assert.ThrowsAsync<CallAutomationException>(() => client.StartAsync(new StartRecordingRequest { ServerCallId = "no-such-call" }));

        Assert.Equal(404, error.StatusCode);
        Assert.Equal("8522", error.ErrorCode);
        Assert.Contains("server call 'no-such-call'", error.Message, StringComparison.Ordinal);
        Assert.Contains("already ended", error.Message, StringComparison.Ordinal);
        Assert.Contains("Call not found.", error.Message, StringComparison.Ordinal);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task ResumeAsync_StoppedRecording_ThrowsSayingItHasStopped()
    {
        var client = CreateClient();
        _server.Script.Enqueue((404, """{"error":{"code":"RecordingNotFound","message":"Recording not found."}}"""));

        var error = await Assert.ThrowsAsync<CallAutomationException>(() => client.ResumeAsync("rec-1"));

        Assert.Equal(404, error.StatusCode);
        Assert.Equal("RecordingNotFound", error.ErrorCode);
        Assert.Contains("resume recording 'rec-1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("already stopped", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_InvalidBodyAnswer_IsNotRetriedAndKeepsTheServiceMessage()
    {
        var client = CreateClient();
        _server.Script.Enqueue((400, """{"error":{"code":"BadRequest","message":"recordingFormatType 'ogg' is invalid."}}"""));

        var error = await Assert.ThrowsAsync<CallAutomationException>(() => client.StartAsync(new StartRecordingRequest { ServerCallId = "c", Format = "ogg" }));

        Assert.Equal(400, error.StatusCode);
        Assert.Contains("'ogg' is invalid", error.Message, StringComparison.Ordinal);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task StartAsync_StillUnavailableAfterEveryRetry_ThrowsTheLastAnswerAsTransient()
    {
        var client = CreateClient(o => o.Retry.MaxRetryAttempts = 1);
        _server.Script.Enqueue((503, string.Empty));
        _server.Script.Enqueue((503, string.Empty));

        var error = await Assert.ThrowsAsync<CallAutomationException>(() => client.StartAsync(new StartRecordingRequest { ServerCallId = "c" }));

        Assert.Equal(503, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task StartAsync_MalformedApiVersion_FailsOptionsValidationBeforeSending()
    {
        var client = CreateClient(o => o.CallAutomationApiVersion = "latest");

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => client.StartAsync(new StartRecordingRequest { ServerCallId = "c" }));

        Assert.Contains("CallAutomationApiVersion", error.Message, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("server", "group")]
    public async Task StartAsync_NotExactlyOneCall_ThrowsArgumentException(string? server, string? group)
    {
        var client = CreateClient();

        await Assert.ThrowsAsync<ArgumentException>(() => client.StartAsync(new StartRecordingRequest { ServerCallId = server, GroupCallId = group }));

        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task StartAsync_ChannelOutOfRange_ThrowsArgumentException()
    {
        var client = CreateClient();

        await Assert.ThrowsAsync<ArgumentException>(() => client.StartAsync(new StartRecordingRequest
        {
            ServerCallId = "c",
            ChannelAffinity = [new RecordingChannelAffinity(5, "8:acs:x")],
        }));
    }

    /// <summary>The JSON without white space, escaped as JSON.stringify would: the client's bytes, '+' unescaped.</summary>
    private static string Normalize(string json) =>
        JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement, RelaxedJson);
}

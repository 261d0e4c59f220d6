using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Messaging;
using Azure.Messaging.EventGrid;
using Azure.Messaging.EventGrid.SystemEvents;
using CallVault.Acs;
using CallVault.Acs.Authentication;
using CallVault.Acs.CallAutomation;
using CallVault.Acs.Downloads;
using CallVault.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace CallVault.Emulator.Tests.CallAutomation;

/// <summary>
/// Call Automation recording control in the emulator, driven by CallVault's own <see cref="CallRecordingClient"/>
/// over real HTTP: calls created through the admin API, HMAC with the body hash, repeatability, ACS's status codes and
/// error bodies, state callbacks with tokens validated through OpenID Connect discovery, and the recorded media.
/// The emulator's clock is a fake one stepped by the test, so pauses have exact lengths.
/// </summary>
public sealed class CallRecordingApiTests : EmulatorTestBase
{
    private const string ResourceId = "0b6a4d27-3c55-4a5e-9f0e-7d2c1b8a9e61";
    private const int SampleRate = 16_000;
    private const string Alice = "8:acs:6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d_00000001-aaaa-bbbb-cccc-000000000001";
    private const string Bob = "8:acs:6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d_00000001-aaaa-bbbb-cccc-000000000002";
    private const string Carol = "4:+14255550123";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly FakeTimeProvider _clock = new(TimeProvider.System.GetUtcNow());
    private WebhookRecorder _callbacks = null!;
    private WebhookRecorder _eventGrid = null!;
    private ServiceProvider? _callAutomationServices;

    protected override AcsEmulatorOptions Options => new()
    {
        EndpointUrl = "http://127.0.0.1:0",
        StorageUrl = "http://127.0.0.1:0",
        TimeFactor = 0.001,
        TimeProvider = _clock,
        ResourceImmutableId = ResourceId,
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _callbacks = await WebhookRecorder.StartAsync();
        _eventGrid = await WebhookRecorder.StartAsync();
        using var subscribed = await Admin.PostAsJsonAsync("subscriptions", new { name = "callvault", endpoint = _eventGrid.Url.AbsoluteUri });
        Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
    }

    public override async Task DisposeAsync()
    {
        if (_callAutomationServices is not null)
        {
            await _callAutomationServices.DisposeAsync();
        }

        // The emulator first: its clients close their keep-alive connections, which the recorders would wait for.
        await base.DisposeAsync();
        await _callbacks.DisposeAsync();
        await _eventGrid.DisposeAsync();
    }

    private CallRecordingClient CreateCallRecordingClient(Action<AcsClientOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddCallRecordingClient(options =>
        {
            options.ConnectionString = Emulator.ConnectionString.ToSecretString();
            options.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
            options.Retry.MaxDelay = TimeSpan.FromMilliseconds(50);
            configure?.Invoke(options);
        });
        _callAutomationServices = services.BuildServiceProvider();
        return _callAutomationServices.GetRequiredService<CallRecordingClient>();
    }

    private async Task<(string ServerCallId, string CallId)> CreateCallAsync(object spec)
    {
        using var response = await Admin.PostAsJsonAsync("calls", spec);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var call = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (call.GetProperty("serverCallId").GetString()!, call.GetProperty("callId").GetString()!);
    }

    private async Task<JsonElement> CallViewAsync(string serverCallId) =>
        await Admin.GetFromJsonAsync<JsonElement>($"calls/{Uri.EscapeDataString(serverCallId)}");

    private StartRecordingRequest Start(string serverCallId) => new()
    {
        ServerCallId = serverCallId,
        RecordingStateCallbackUri = _callbacks.Url,
    };

    private List<CloudEvent> CallbackEvents() =>
        [.. _callbacks.Received.Where(r => r.Method == "POST").SelectMany(r => CloudEvent.ParseMany(BinaryData.FromString(r.Body)))];

    private List<string> CallbackStates() =>
        [.. CallbackEvents().Select(e => JsonDocument.Parse(e.Data!.ToString()).RootElement.GetProperty("state").GetString()!)];

    private AcsRecordingFileStatusUpdatedEventData? FilesEventFor(string recordingId) =>
        _eventGrid.Notifications
            .SelectMany(n => EventGridEvent.ParseMany(BinaryData.FromString(n.Body)))
            .Where(e => e.EventType == SystemEventNames.AcsRecordingFileStatusUpdated && e.Subject.EndsWith("/recordingId/" + recordingId, StringComparison.Ordinal))
            .Select(e => e.TryGetSystemEventData(out var data) ? (AcsRecordingFileStatusUpdatedEventData)data : null)
            .FirstOrDefault();

    private async Task<byte[]> DownloadAsync(Uri location)
    {
        using var destination = new MemoryStream();
        await CreateClient().DownloadToAsync(new AcsDownloadRequest(location), destination);
        return destination.ToArray();
    }

    [Fact]
    public async Task StartPauseResumeStop_OurClient_FollowsTheStatesCallsBackAndRecordsSilenceWhereThePauseWas()
    {
        var (serverCallId, callId) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();

        var started = await client.StartAsync(Start(serverCallId));
        _clock.Advance(TimeSpan.FromSeconds(2));
        await client.PauseAsync(started.RecordingId);
        var paused = await client.GetAsync(started.RecordingId);
        _clock.Advance(TimeSpan.FromSeconds(3));
        await client.ResumeAsync(started.RecordingId);
        var resumed = await client.GetAsync(started.RecordingId);
        _clock.Advance(TimeSpan.FromSeconds(2));
        await client.StopAsync(started.RecordingId);

        Assert.Equal("active", started.State);
        Assert.Equal("azureCommunicationServices", started.RecordingKind);
        Assert.Equal("inactive", paused.State);
        Assert.Equal("active", resumed.State);
        var gone = await Assert.ThrowsAsync<CallAutomationException>(() => client.GetAsync(started.RecordingId));
        Assert.Equal(404, gone.StatusCode);

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => CallbackStates().Count == 4, Patience));
        Assert.Equal(["active", "inactive", "active", "inactive"], CallbackStates());
        var first = CallbackEvents()[0];
        Assert.Equal("Microsoft.Communication.RecordingStateChanged", first.Type);
        var data = JsonDocument.Parse(first.Data!.ToString()).RootElement;
        Assert.Equal(started.RecordingId, data.GetProperty("recordingId").GetString());
        Assert.Equal(serverCallId, data.GetProperty("serverCallId").GetString());

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => FilesEventFor(started.RecordingId) is not null, Patience));
        var files = FilesEventFor(started.RecordingId)!;
        var chunk = Assert.Single(files.RecordingStorageInfo.RecordingChunks);
        Assert.Equal(AcsRecordingFormatType.Wav, files.FormatType);
        Assert.Equal(AcsRecordingChannelType.Mixed, files.ChannelType);
        var wav = await DownloadAsync(new Uri(chunk.ContentLocation));
        var samples = MonoSamples(wav);
        Assert.Equal(7 * SampleRate, samples.Length);
        Assert.All(samples[(2 * SampleRate)..(5 * SampleRate)], s => Assert.Equal(0, s));
        Assert.True(samples[..(2 * SampleRate)].Max(s => Math.Abs((int)s)) > 1000, "the first two seconds are a tone");
        Assert.True(samples[(5 * SampleRate)..].Max(s => Math.Abs((int)s)) > 1000, "the last two seconds are a tone");
        var metadata = JsonDocument.Parse(await DownloadAsync(new Uri(chunk.MetadataLocation))).RootElement;
        Assert.Equal(callId, metadata.GetProperty("callId").GetString());
        Assert.Equal(ResourceId, metadata.GetProperty("resourceId").GetString());
        Assert.Equal(3000, Assert.Single(metadata.GetProperty("pauseResumeIntervals").EnumerateArray()).GetProperty("duration").GetInt64());
    }

    [Fact]
    public async Task Callbacks_EachCarryAFreshTokenThatValidatesThroughTheEmulatorsOpenIdConfiguration()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        var started = await client.StartAsync(Start(serverCallId));
        await client.PauseAsync(started.RecordingId);
        await client.StopAsync(started.RecordingId);
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => CallbackStates().Count == 3, Patience));

        var manager = new ConfigurationManager<OpenIdConnectConfiguration>(
            new Uri(Emulator.Endpoint, ".well-known/openid-configuration").AbsoluteUri,
            new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever { RequireHttps = false });
        var configuration = await manager.GetConfigurationAsync(CancellationToken.None);
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = configuration.Issuer,
            ValidAudience = ResourceId,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
        };
        var tokens = _callbacks.Received.Where(r => r.Method == "POST").Select(r => r.Headers["authorization"]).ToList();

        Assert.Equal(Emulator.Endpoint.GetLeftPart(UriPartial.Authority), configuration.Issuer);
        Assert.Equal(3, tokens.Distinct().Count());
        var handler = new JsonWebTokenHandler();
        foreach (var header in tokens)
        {
            Assert.StartsWith("Bearer ", header, StringComparison.Ordinal);
            var result = await handler.ValidateTokenAsync(header["Bearer ".Length..], parameters);
            Assert.True(result.IsValid, result.Exception?.Message);
            var token = (JsonWebToken)result.SecurityToken;
            Assert.False(string.IsNullOrEmpty(token.Kid));
            Assert.Equal(TimeSpan.FromMinutes(5), token.ValidTo - token.IssuedAt);
        }

        var otherResource = parameters.Clone();
        otherResource.ValidAudience = Guid.NewGuid().ToString();
        Assert.False((await handler.ValidateTokenAsync(tokens[0]["Bearer ".Length..], otherResource)).IsValid);
    }

    [Fact]
    public async Task Start_UnmixedWithOrderingAndAffinity_PutsParticipantsOnTheirChannelsInTheMetadata()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob, Carol } });
        var client = CreateCallRecordingClient();

        var started = await client.StartAsync(Start(serverCallId) with
        {
            Channel = "unmixed",
            Format = "wav",
            Content = "audio",
            AudioChannelParticipantOrdering = [Carol],
            ChannelAffinity = [new RecordingChannelAffinity(2, Alice)],
        });
        _clock.Advance(TimeSpan.FromSeconds(1));
        await client.StopAsync(started.RecordingId);

        Assert.True(await WebhookRecorder.WaitUntilAsync(() => FilesEventFor(started.RecordingId) is not null, Patience));
        var chunk = Assert.Single(FilesEventFor(started.RecordingId)!.RecordingStorageInfo.RecordingChunks);
        var metadata = JsonDocument.Parse(await DownloadAsync(new Uri(chunk.MetadataLocation))).RootElement;
        var channels = metadata.GetProperty("participants").EnumerateArray()
            .ToDictionary(p => p.GetProperty("channel").GetInt32(), p => p.GetProperty("participantId").GetString());
        Assert.Equal(new Dictionary<int, string?> { [0] = Carol, [1] = Bob, [2] = Alice }, channels);
        Assert.Equal(3, metadata.GetProperty("recordingInfo").GetProperty("audioConfiguration").GetProperty("channels").GetInt32());
        var wav = await DownloadAsync(new Uri(chunk.ContentLocation));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(wav.AsSpan(22)));
    }

    [Fact]
    public async Task Start_SameRepeatabilityIdTwice_StartsOneRecordingAndAnswersTheFirstResult()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        var request = Start(serverCallId) with { RepeatabilityRequestId = Guid.NewGuid(), RepeatabilityFirstSent = _clock.GetUtcNow() };

        var first = await client.StartAsync(request);
        var again = await client.StartAsync(request);
        var other = await client.StartAsync(Start(serverCallId));

        Assert.Equal(first.RecordingId, again.RecordingId);
        Assert.NotEqual(first.RecordingId, other.RecordingId);
        Assert.Equal(2, (await CallViewAsync(serverCallId)).GetProperty("recordings").GetArrayLength());
    }

    [Fact]
    public async Task Start_AnswerLostAfterTheRecordingStarted_TheClientsRetryStartsNoSecondRecording()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        using var fault = await Admin.PostAsJsonAsync("faults", new { target = "StartRecording", fault = new { type = "Reset" } });
        Assert.Equal(HttpStatusCode.Created, fault.StatusCode);

        var started = await client.StartAsync(Start(serverCallId));

        var recordings = (await CallViewAsync(serverCallId)).GetProperty("recordings");
        Assert.Equal(started.RecordingId, Assert.Single(recordings.EnumerateArray()).GetProperty("recordingId").GetString());
        Assert.Empty(await Admin.GetFromJsonAsync<JsonElement[]>("faults") ?? []);
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => CallbackStates().Count == 1, Patience));
    }

    [Fact]
    public async Task Start_ServiceUnavailableOnce_IsRetriedAndStartsOneRecording()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        using var fault = await Admin.PostAsJsonAsync("faults", new { target = "StartRecording", fault = new { type = "Status", status = 503 } });

        var started = await client.StartAsync(Start(serverCallId));

        Assert.Equal("active", started.State);
        Assert.Equal(1, (await CallViewAsync(serverCallId)).GetProperty("recordings").GetArrayLength());
    }

    [Fact]
    public async Task Stop_AnswerLostAfterTheRecordingStopped_TheRetryFindsItGoneAndTheStopSucceeds()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        var started = await client.StartAsync(Start(serverCallId));
        _clock.Advance(TimeSpan.FromSeconds(1));
        using var fault = await Admin.PostAsJsonAsync("faults", new { target = "RecordingControl", documentId = started.RecordingId, fault = new { type = "Reset" } });

        await client.StopAsync(started.RecordingId);

        Assert.Empty(await Admin.GetFromJsonAsync<JsonElement[]>("faults") ?? []);
        var recording = Assert.Single((await CallViewAsync(serverCallId)).GetProperty("recordings").EnumerateArray());
        Assert.Equal("Stopped", recording.GetProperty("state").GetString());
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => FilesEventFor(started.RecordingId) is not null, Patience));
    }

    [Fact]
    public async Task Callback_LostByAFault_IsNotDeliveredAndTheNextOneIs()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        using var fault = await Admin.PostAsJsonAsync("faults", new { target = "RecordingCallback" });

        var started = await client.StartAsync(Start(serverCallId));
        await client.PauseAsync(started.RecordingId);

        Assert.True(await WebhookRecorder.WaitUntilAsync(
            async ct => (await Admin.GetFromJsonAsync<JsonElement[]>("callbacks", ct))!.Length == 2,
            Patience));
        var deliveries = await Admin.GetFromJsonAsync<JsonElement[]>("callbacks");
        Assert.Equal(["Lost", "Delivered"], deliveries!.Select(d => d.GetProperty("outcome").GetString()));
        Assert.Equal(["inactive"], CallbackStates());
    }

    [Fact]
    public async Task EndOfCall_StopsItsRecordingAndPublishesTheFiles()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        var started = await client.StartAsync(Start(serverCallId));
        _clock.Advance(TimeSpan.FromSeconds(3));

        using var ended = await Admin.DeleteAsync($"calls/{Uri.EscapeDataString(serverCallId)}");

        Assert.Equal(HttpStatusCode.NoContent, ended.StatusCode);
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => FilesEventFor(started.RecordingId) is not null, Patience));
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => CallbackStates().Count == 2, Patience));
        Assert.Equal(["active", "inactive"], CallbackStates());
        var resumeAfterEnd = await Assert.ThrowsAsync<CallAutomationException>(() => client.ResumeAsync(started.RecordingId));
        Assert.Equal(404, resumeAfterEnd.StatusCode);
        var startAfterEnd = await Assert.ThrowsAsync<CallAutomationException>(() => client.StartAsync(Start(serverCallId)));
        Assert.Equal(404, startAfterEnd.StatusCode);
        Assert.Contains("ended", startAfterEnd.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallWithDuration_EndsByItselfAndStopsTheRecording()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob }, durationSeconds = 4 });
        var client = CreateCallRecordingClient();
        var started = await client.StartAsync(Start(serverCallId));

        _clock.Advance(TimeSpan.FromSeconds(4));

        Assert.Equal("ended", (await CallViewAsync(serverCallId)).GetProperty("state").GetString());
        Assert.True(await WebhookRecorder.WaitUntilAsync(() => FilesEventFor(started.RecordingId) is not null, Patience));
    }

    [Fact]
    public async Task Stop_CallToldNotToPublishFiles_RecordsButPublishesNoEvent()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob }, publishFiles = false });
        var client = CreateCallRecordingClient();
        var started = await client.StartAsync(Start(serverCallId));
        _clock.Advance(TimeSpan.FromSeconds(1));

        await client.StopAsync(started.RecordingId);

        // The files are produced (and the event would be queued) before the stop is answered, so nothing is pending now.
        using var recording = await Admin.GetAsync($"recordings/{Uri.EscapeDataString(started.RecordingId)}");
        Assert.Equal(HttpStatusCode.OK, recording.StatusCode);
        Assert.Equal(0, Emulator.Context.EventGrid.PendingDeliveries);
        Assert.Empty(Emulator.Context.EventGrid.Attempts);
    }

    [Fact]
    public async Task Start_UnknownServerCall_Is404WithAnAcsErrorBody()
    {
        var client = CreateCallRecordingClient();

        var error = await Assert.ThrowsAsync<CallAutomationException>(() => client.StartAsync(Start("bm8tc3VjaC1jYWxs")));

        Assert.Equal(404, error.StatusCode);
        Assert.False(string.IsNullOrEmpty(error.ErrorCode));
    }

    [Fact]
    public async Task Resume_StoppedRecording_Is404()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient();
        var started = await client.StartAsync(Start(serverCallId) with { PauseOnStart = true });
        await client.StopAsync(started.RecordingId);

        var error = await Assert.ThrowsAsync<CallAutomationException>(() => client.ResumeAsync(started.RecordingId));
        var stopAgain = await Assert.ThrowsAsync<CallAutomationException>(() => client.StopAsync(started.RecordingId));

        Assert.Equal("inactive", started.State);
        Assert.Equal(404, error.StatusCode);
        Assert.Equal(404, stopAgain.StatusCode);
    }

    [Fact]
    public async Task Start_PauseOnStartAtAnOldApiVersion_Is400()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        var client = CreateCallRecordingClient(o => o.CallAutomationApiVersion = "2023-10-15");

        var error = await Assert.ThrowsAsync<CallAutomationException>(() => client.StartAsync(Start(serverCallId) with { PauseOnStart = true }));

        Assert.Equal(400, error.StatusCode);
        Assert.Contains("pauseOnStart", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", "InvalidRequestBody")]
    [InlineData("""{"recordingFormatType":"wav"}""", "InvalidRequestBody")]
    [InlineData("""{"callLocator":{"kind":"serverCallLocator","serverCallId":"SERVER"},"recordingFormatType":"ogg"}""", "InvalidRequestBody")]
    [InlineData("""{"callLocator":{"kind":"serverCallLocator","serverCallId":"SERVER"},"recordingChannelType":"unmixed","recordingFormatType":"mp3"}""", "InvalidRequestBody")]
    [InlineData("""{"callLocator":{"kind":"serverCallLocator","serverCallId":"SERVER"},"channelAffinity":[{"channel":7,"participant":{"rawId":"4:+14255550123"}}]}""", "InvalidRequestBody")]
    public async Task Start_InvalidBody_Is400WithAnAcsErrorBody(string body, string code)
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Carol } });
        using var http = SignedHttpClient();

        using var response = await http.PostAsync(
            new Uri(Emulator.Endpoint, "calling/recordings?api-version=2025-05-15"),
            new StringContent(body.Replace("SERVER", serverCallId, StringComparison.Ordinal), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(0, (await CallViewAsync(serverCallId)).GetProperty("recordings").GetArrayLength());
    }

    [Fact]
    public async Task Start_BodyChangedAfterSigning_Is401AndStartsNothing()
    {
        var (serverCallId, _) = await CreateCallAsync(new { participants = new[] { Alice, Bob } });
        using var http = SignedHttpClient(new ReplaceBodyHandler($$$"""{"callLocator":{"kind":"serverCallLocator","serverCallId":"{{{serverCallId}}}"},"recordingFormatType":"mp3"}"""));

        using var response = await http.PostAsync(
            new Uri(Emulator.Endpoint, "calling/recordings?api-version=2025-05-15"),
            new StringContent($$$"""{"callLocator":{"kind":"serverCallLocator","serverCallId":"{{{serverCallId}}}"}}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, (await CallViewAsync(serverCallId)).GetProperty("recordings").GetArrayLength());
    }

    [Fact]
    public async Task Get_Unsigned_Is401()
    {
        using var http = new HttpClient();

        using var response = await http.GetAsync(new Uri(Emulator.Endpoint, "calling/recordings/abc?api-version=2025-05-15"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Calls_InvalidParticipants_Is400()
    {
        using var response = await Admin.PostAsJsonAsync("calls", new { participants = Array.Empty<string>() });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.DeleteAsync("calls/unknown")).StatusCode);
    }

    private HttpClient SignedHttpClient(DelegatingHandler? afterSigning = null)
    {
        var options = new AcsClientOptions { ConnectionString = Emulator.ConnectionString.ToSecretString() };
        HttpMessageHandler inner = new SocketsHttpHandler();
        if (afterSigning is not null)
        {
            afterSigning.InnerHandler = inner;
            inner = afterSigning;
        }

        return new HttpClient(new AcsHmacSigningHandler(new StaticOptions(options), TimeProvider.System) { InnerHandler = inner });
    }

    private static short[] MonoSamples(byte[] wav)
    {
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(wav.AsSpan(22)));
        Assert.Equal(SampleRate, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        var samples = new short[(wav.Length - 44) / 2];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(44 + (2 * i)));
        }

        return samples;
    }

    /// <summary>Swaps the body after it was signed, as a tampering proxy would.</summary>
    private sealed class ReplaceBodyHandler(string body) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class StaticOptions(AcsClientOptions value) : IOptionsMonitor<AcsClientOptions>
    {
        public AcsClientOptions CurrentValue => value;

        public AcsClientOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<AcsClientOptions, string?> listener) => null;
    }
}

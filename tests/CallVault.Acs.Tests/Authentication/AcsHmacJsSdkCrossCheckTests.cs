using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Net;
using CallVault.Acs.Authentication;
using CallVault.Acs.CallAutomation;
using CallVault.Acs.Tests.Infrastructure;
using CallVault.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Acs.Tests.Authentication;

/// <summary>
/// Our signer against an independent implementation: the Azure SDK for JavaScript (pinned in
/// <c>eng/hmac-crosscheck/package-lock.json</c>) signs the same requests under Node, and the headers we send must be
/// the same bytes. Endpoint requests go through <c>@azure/communication-common</c>'s access-key policy; recording URLs
/// on the storage host go through <c>@azure/communication-call-automation</c>'s download and delete, which sign them
/// for the ACS endpoint and add <c>x-ms-host</c>. Call Automation recording operations go through
/// <c>@azure/communication-call-automation</c>'s <c>CallRecording</c> on one side and our <see cref="CallRecordingClient"/>
/// on the other, and must be the same request: URL, body bytes, repeatability and signing headers.
/// </summary>
public sealed class AcsHmacJsSdkCrossCheckTests(AcsHmacJsSdkCrossCheckTests.JsSdkSignatures js)
    : IClassFixture<AcsHmacJsSdkCrossCheckTests.JsSdkSignatures>
{
    private const string Acs = "https://contoso-acs.communication.azure.com/";
    private const string AcsOnPort = "https://contoso-acs.communication.azure.com:8443/";
    private const string Emulator = "http://localhost:5271/";
    private const string Document = "0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f";
    private const string StartRecordingBody =
        """{"recordingStateCallbackUri":"https://callvault.example/api/events?code=x","recordingContentType":"audio","recordingChannelType":"mixed","title":"Zoë's call"}""";

    /// <summary>A query that is not in <c>application/x-www-form-urlencoded</c> form: the JS policy re-serialises it
    /// before signing (<c>%20</c> becomes <c>+</c>, a bare name gains <c>=</c>), so the two sides disagree here.</summary>
    private static readonly SigningCase QueryNotFormEncoded =
        new("endpoint-get-query-not-form-encoded", "endpoint", Acs, "GET", $"{Acs}recording/download/{Document}?name=a%20b&flag");

    /// <summary>The requests both implementations sign. "endpoint": sent to the ACS endpoint itself; "storage": a
    /// recording URL on the media storage host.</summary>
    private static readonly SigningCase[] Cases =
    [
        new("endpoint-get", "endpoint", Acs, "GET", $"{Acs}recording/download/{Document}?api-version=2021-04-15-preview1"),
        new("endpoint-get-explicit-default-port", "endpoint", Acs, "GET", $"https://contoso-acs.communication.azure.com:443/recording/download/{Document}?api-version=2021-04-15-preview1"),
        new("endpoint-get-emulator-port-two-params", "endpoint", Emulator, "GET", $"{Emulator}recording/download/{Document}?api-version=2021-04-15-preview1&attempt=2"),
        new("endpoint-get-escaped-path", "endpoint", Acs, "GET", $"{Acs}recording/download/a%20b%2Fc?api-version=2021-04-15-preview1"),
        new("endpoint-delete-https-port", "endpoint", AcsOnPort, "DELETE", $"{AcsOnPort}recording/{Document}?api-version=2021-04-15-preview1"),
        new("endpoint-post-json", "endpoint", Acs, "POST", $"{Acs}calling/serverCalls/c2VydmVy/recordings?api-version=2021-08-30-preview", StartRecordingBody),
        new("endpoint-post-json-port", "endpoint", Emulator, "POST", $"{Emulator}calling/serverCalls/c2VydmVy/recordings?api-version=2021-08-30-preview", StartRecordingBody),
        new("endpoint-post-empty-object", "endpoint", Acs, "POST", $"{Acs}calling/recordings/{Document}:pause?api-version=2023-03-06", "{}"),
        new("storage-get-audio", "storage", Acs, "GET", $"https://storage.asm.skype.com/v1/objects/{Document}/content/audio"),
        new("storage-get-metadata", "storage", Acs, "GET", $"https://storage.asm.skype.com/v1/objects/{Document}/content/acsmetadata"),
        new("storage-get-query-not-signed", "storage", Acs, "GET", $"https://storage.asm.skype.com/v1/objects/{Document}/content/video?sig=abc%2B&se=2026-03-04"),
        new("storage-get-storage-port", "storage", Acs, "GET", $"https://storage.asm.skype.com:8443/v1/objects/{Document}/content/audio"),
        new("storage-get-emulator-endpoint", "storage", Emulator, "GET", $"https://storage.asm.skype.com/v1/objects/{Document}/content/audio"),
        new("storage-delete", "storage", Acs, "DELETE", $"https://eu-storage.asm.skype.com/v1/objects/{Document}"),
        new("storage-delete-endpoint-port", "storage", AcsOnPort, "DELETE", $"https://eu-storage.asm.skype.com/v1/objects/{Document}"),
        QueryNotFormEncoded,
    ];

    private const string RecordingId = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiJ+/w+P9ifQ==";
    private const string User = "8:acs:6d2f0c3a-1b4e-4f7a-9c8d-2e1f0a3b4c5d_00000001-aaaa-bbbb-cccc-000000000001";

    /// <summary>Call Automation recording operations: the JS SDK's options and ours for the same request.</summary>
    private static readonly RecordingCase[] RecordingCases =
    [
        new(
            "recording-start-every-option",
            Acs,
            "start",
            null,
            new
            {
                callLocator = new { id = "aHR0cHM6Ly9zZXJ2ZXIvY2FsbA", kind = "serverCallLocator" },
                recordingStateCallbackEndpointUrl = "https://callvault.example/api/callbacks",
                recordingContent = "audio",
                recordingChannel = "unmixed",
                recordingFormat = "wav",
                pauseOnStart = true,
                audioChannelParticipantOrdering = new object[] { new { communicationUserId = User }, new { phoneNumber = "+14255550123" } },
                channelAffinity = new[] { new { channel = 1, targetParticipant = new { communicationUserId = User } } },
                recordingStorage = new { recordingStorageKind = "azureBlobStorage", recordingDestinationContainerUrl = "https://account.blob.core.windows.net/recordings" },
            },
            new StartRecordingRequest
            {
                ServerCallId = "aHR0cHM6Ly9zZXJ2ZXIvY2FsbA",
                RecordingStateCallbackUri = new Uri("https://callvault.example/api/callbacks"),
                Content = "audio",
                Channel = "unmixed",
                Format = "wav",
                PauseOnStart = true,
                AudioChannelParticipantOrdering = [User, "4:+14255550123"],
                ChannelAffinity = [new RecordingChannelAffinity(1, User)],
                ExternalStorageContainerUrl = new Uri("https://account.blob.core.windows.net/recordings"),
            }),
        new(
            "recording-start-group-call-emulator-port",
            Emulator,
            "start",
            null,
            new { callLocator = new { id = "3f1c1a2e-9a6b-4c1e-8b7e-2a1d0c9b8a7f", kind = "groupCallLocator" }, recordingFormat = "mp3" },
            new StartRecordingRequest { GroupCallId = "3f1c1a2e-9a6b-4c1e-8b7e-2a1d0c9b8a7f", Format = "mp3" }),
        new("recording-pause-escaped-id", Acs, "pause", RecordingId, null, null),
        new("recording-resume", AcsOnPort, "resume", RecordingId, null, null),
        new("recording-get-state", Acs, "getState", RecordingId, null, null),
        new("recording-stop", Acs, "stop", RecordingId, null, null),
    ];

    public static TheoryData<string> AgreedCases => new(Cases.Where(c => c != QueryNotFormEncoded).Select(c => c.Name));

    public static TheoryData<string> RecordingCaseNames => new(RecordingCases.Select(c => c.Name));

    /// <summary>Every header that carries the signature (date, body hash, Authorization, x-ms-host, Host) is the same
    /// string the JS SDK sends.</summary>
    [Theory]
    [MemberData(nameof(AgreedCases))]
    public async Task SendAsync_SameRequestAsJsSdk_SendsTheSameSigningHeaders(string name)
    {
        var signingCase = Cases.Single(c => c.Name == name);
        var theirs = js.HeadersOf(name);

        var ours = await SignWithCallVaultAsync(signingCase, theirs["x-ms-date"]);

        Assert.Equal(Describe(theirs), Describe(ours));
    }

    /// <summary>
    /// The one known disagreement, pinned to its cause. The JS policy signs <c>URLSearchParams.toString()</c> of the
    /// query, not the query it sends; the .NET SDK signs <c>Uri.PathAndQuery</c>, the bytes on the request line, and
    /// that is what a verifier recomputes from the request it receives. We side with .NET: a request whose query is
    /// not already form-encoded is signed as sent.
    /// </summary>
    [Fact]
    public async Task SendAsync_QueryNotFormEncoded_SignsTheQueryAsSentWhereJsSignsItReserialised()
    {
        var theirs = js.HeadersOf(QueryNotFormEncoded.Name);
        var date = theirs["x-ms-date"];
        var path = $"/recording/download/{Document}";
        string Authorization(string pathAndQuery) => "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=" +
            AcsHmacSigner.ComputeSignature(
                Convert.FromBase64String(TestOptions.Key),
                AcsHmacSigner.BuildStringToSign("GET", pathAndQuery, date, "contoso-acs.communication.azure.com", AcsHmacSigner.EmptyContentHash));

        var ours = await SignWithCallVaultAsync(QueryNotFormEncoded, date);

        Assert.Equal(Authorization(path + "?name=a+b&flag="), theirs["authorization"]);
        Assert.Equal(Authorization(path + "?name=a%20b&flag"), ours["authorization"]);
    }

    /// <summary>
    /// Our Call Automation client sends what the JS SDK sends for the same operation: the same URL (recording id
    /// escaped alike, same api-version), the same body bytes, and so the same content hash and signature; a start
    /// carries the repeatability headers it was given, in the same form.
    /// </summary>
    [Theory]
    [MemberData(nameof(RecordingCaseNames))]
    public async Task CallRecordingClient_SameOperationAsJsSdk_SendsTheSameRequest(string name)
    {
        var recordingCase = RecordingCases.Single(c => c.Name == name);
        var theirs = js.RequestOf(name);
        var time = DateTimeOffset.ParseExact(theirs.Headers["x-ms-date"], "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var apiVersion = System.Web.HttpUtility.ParseQueryString(new Uri(theirs.Url).Query)["api-version"]!;
        var options = TestOptions.Monitor(new AcsClientOptions
        {
            ConnectionString = $"endpoint={recordingCase.Endpoint};accesskey={TestOptions.Key}",
            CallAutomationApiVersion = apiVersion,
        });
        var clock = new FakeTimeProvider(time);
        var capture = new CapturingHandler();
        using var http = new HttpClient(new AcsHmacSigningHandler(options, clock) { InnerHandler = capture });
        var client = new CallRecordingClient(http, options, clock);

        switch (recordingCase.Operation)
        {
            case "start":
                await client.StartAsync(recordingCase.Ours! with
                {
                    RepeatabilityRequestId = Guid.Parse(theirs.Headers["repeatability-request-id"]),
                    RepeatabilityFirstSent = DateTimeOffset.ParseExact(theirs.Headers["repeatability-first-sent"], "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                });
                break;
            case "pause":
                await client.PauseAsync(recordingCase.RecordingId!);
                break;
            case "resume":
                await client.ResumeAsync(recordingCase.RecordingId!);
                break;
            case "getState":
                await client.GetAsync(recordingCase.RecordingId!);
                break;
            default:
                await client.StopAsync(recordingCase.RecordingId!);
                break;
        }

        var ours = Assert.Single(capture.Requests);
        Assert.Equal(theirs.Url, ours.Url);
        Assert.Equal(theirs.Body, ours.Body);
        Assert.Equal(Describe(theirs.Headers), Describe(ours.Headers));
    }

    private static async Task<Dictionary<string, string>> SignWithCallVaultAsync(SigningCase signingCase, string jsDate)
    {
        // The JS policy takes its date from the clock; we sign at the instant it printed, so both sign the same date.
        var time = DateTimeOffset.ParseExact(jsDate, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var options = new AcsClientOptions { ConnectionString = $"endpoint={signingCase.Endpoint};accesskey={TestOptions.Key}" };
        var stub = new StubHandler();
        using var client = new HttpClient(new AcsHmacSigningHandler(TestOptions.Monitor(options), new FakeTimeProvider(time)) { InnerHandler = stub });
        using var request = new HttpRequestMessage(new HttpMethod(signingCase.Method), new Uri(signingCase.Url));
        if (signingCase.Body is not null)
        {
            request.Content = new StringContent(signingCase.Body, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);

        var sent = Assert.Single(stub.Requests);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            // HttpClient writes Host from the URI unless the request names one.
            ["host"] = sent.Headers.Host ?? sent.RequestUri!.Authority,
        };
        foreach (var name in new[] { "x-ms-date", "x-ms-content-sha256", "authorization", "x-ms-host" })
        {
            if (sent.Headers.TryGetValues(name, out var values))
            {
                headers[name] = string.Join(", ", values);
            }
        }

        return headers;
    }

    private static string Describe(IReadOnlyDictionary<string, string> headers) =>
        string.Join('\n', headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => $"{h.Key}: {h.Value}"));

    /// <summary>One request to sign.</summary>
    private sealed record SigningCase(string Name, string Form, string Endpoint, string Method, string Url, string? Body = null);

    /// <summary>One Call Automation recording operation: the JS SDK's start options and ours.</summary>
    private sealed record RecordingCase(string Name, string Endpoint, string Operation, string? RecordingId, object? JsOptions, StartRecordingRequest? Ours);

    /// <summary>A request as sent: its URL, body and the headers the JS side reports.</summary>
    public sealed record SentRequest(string Url, string? Body, Dictionary<string, string> Headers);

    /// <summary>Keeps each request as it would go on the wire and answers as ACS does to its operation.</summary>
    private sealed class CapturingHandler : HttpMessageHandler
    {
        private static readonly string[] Reported =
            ["x-ms-date", "x-ms-content-sha256", "authorization", "x-ms-host", "repeatability-request-id", "repeatability-first-sent"];

        public List<SentRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["host"] = request.Headers.Host ?? request.RequestUri!.Authority };
            foreach (var name in Reported)
            {
                if (request.Headers.TryGetValues(name, out var values))
                {
                    headers[name] = string.Join(", ", values);
                }
            }

            var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            Requests.Add(new SentRequest(request.RequestUri!.AbsoluteUri, body, headers));
            var (status, answer) = request.Method.Method switch
            {
                "POST" when request.RequestUri.AbsolutePath.EndsWith(":pause", StringComparison.Ordinal)
                    || request.RequestUri.AbsolutePath.EndsWith(":resume", StringComparison.Ordinal) => (HttpStatusCode.Accepted, null),
                "DELETE" => (HttpStatusCode.NoContent, null),
                _ => (HttpStatusCode.OK, """{"recordingId":"captured","recordingState":"active"}"""),
            };
            return new HttpResponseMessage(status)
            {
                RequestMessage = request,
                Content = answer is null ? null : new StringContent(answer, Encoding.UTF8, "application/json"),
            };
        }
    }

    /// <summary>Runs <c>eng/hmac-crosscheck/sign.cjs</c> once for every case and keeps the headers the JS SDK sent.</summary>
    public sealed class JsSdkSignatures : IAsyncLifetime
    {
        private Dictionary<string, SentRequest> _byCase = [];

        /// <summary>The headers the JS SDK sent for a case, by lower-case name.</summary>
        public Dictionary<string, string> HeadersOf(string name) => _byCase[name].Headers;

        /// <summary>The request the JS SDK sent for a case.</summary>
        public SentRequest RequestOf(string name) => _byCase[name];

        public async Task InitializeAsync()
        {
            var tools = Path.Combine(RepositoryPaths.Root, ".tools", "hmac-crosscheck");
            var pinnedLock = Path.Combine(RepositoryPaths.Root, "eng", "hmac-crosscheck", "package-lock.json");
            var installedLock = Path.Combine(tools, "installed.lock");
            if (!File.Exists(installedLock) || File.ReadAllText(installedLock) != File.ReadAllText(pinnedLock))
            {
                Assert.Fail($"The Azure SDK for JavaScript packages this test runs are not installed, or not the pinned versions, in {tools}. " +
                    "Run eng/hmac-crosscheck/install.sh (needs Node.js 20+ and npm; eng/test.sh runs it).");
            }

            var input = JsonSerializer.Serialize(
                Cases.Select(c => (object)new
                {
                    connectionString = $"endpoint={c.Endpoint};accesskey={TestOptions.Key}",
                    form = c.Form,
                    method = c.Method,
                    url = c.Url,
                    body = c.Body,
                }).Concat(RecordingCases.Select(c => (object)new
                {
                    connectionString = $"endpoint={c.Endpoint};accesskey={TestOptions.Key}",
                    form = "call-recording",
                    operation = c.Operation,
                    recordingId = c.RecordingId,
                    options = c.JsOptions,
                })));
            var start = new ProcessStartInfo("node") { ArgumentList = { Path.Combine(RepositoryPaths.Root, "eng", "hmac-crosscheck", "sign.cjs"), tools } };
            ChildProcessResult result;
            try
            {
                result = await ChildProcess.RunAsync(start, input, TimeSpan.FromMinutes(2));
            }
            catch (FileNotFoundException error)
            {
                Assert.Fail($"This test needs Node.js 20+ on PATH to run the JS SDK. {error.Message}");
                throw;
            }

            Assert.True(result.ExitCode == 0, $"sign.cjs exited with {result.ExitCode}: {result.Error}");
            var signed = JsonSerializer.Deserialize<List<JsSignedRequest>>(result.Output)
                ?? throw new InvalidOperationException("sign.cjs printed no result: " + result.Output);
            var names = Cases.Select(c => c.Name).Concat(RecordingCases.Select(c => c.Name)).ToList();
            Assert.Equal(names.Count, signed.Count);
            _byCase = names.Zip(signed).ToDictionary(
                pair => pair.First,
                pair => new SentRequest(pair.Second.Url, pair.Second.Body, new Dictionary<string, string>(pair.Second.Headers, StringComparer.OrdinalIgnoreCase)));
        }

        public Task DisposeAsync() => Task.CompletedTask;

        private sealed record JsSignedRequest(
            [property: System.Text.Json.Serialization.JsonPropertyName("url")] string Url,
            [property: System.Text.Json.Serialization.JsonPropertyName("headers")] Dictionary<string, string> Headers,
            [property: System.Text.Json.Serialization.JsonPropertyName("body")] string? Body);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CallVault.Acs.Authentication;
using CallVault.Acs.Tests.Infrastructure;
using CallVault.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CallVault.Acs.Tests.Authentication;

/// <summary>
/// Our signer against an independent implementation: the Azure SDK for JavaScript (pinned in
/// <c>eng/hmac-crosscheck/package-lock.json</c>) signs the same requests under Node, and the headers we send must be
/// the same bytes. Endpoint requests go through <c>@azure/communication-common</c>'s access-key policy; recording URLs
/// on the storage host go through <c>@azure/communication-call-automation</c>'s download and delete, which sign them
/// for the ACS endpoint and add <c>x-ms-host</c>.
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

    public static TheoryData<string> AgreedCases => new(Cases.Where(c => c != QueryNotFormEncoded).Select(c => c.Name));

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

    /// <summary>Runs <c>eng/hmac-crosscheck/sign.cjs</c> once for every case and keeps the headers the JS SDK sent.</summary>
    public sealed class JsSdkSignatures : IAsyncLifetime
    {
        private Dictionary<string, Dictionary<string, string>> _byCase = [];

        /// <summary>The headers the JS SDK sent for a case, by lower-case name.</summary>
        public Dictionary<string, string> HeadersOf(string name) => _byCase[name];

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

            var input = JsonSerializer.Serialize(Cases.Select(c => new
            {
                connectionString = $"endpoint={c.Endpoint};accesskey={TestOptions.Key}",
                form = c.Form,
                method = c.Method,
                url = c.Url,
                body = c.Body,
            }));
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
            Assert.Equal(Cases.Length, signed.Count);
            _byCase = Cases.Zip(signed).ToDictionary(
                pair => pair.First.Name,
                pair => new Dictionary<string, string>(pair.Second.Headers, StringComparer.OrdinalIgnoreCase));
        }

        public Task DisposeAsync() => Task.CompletedTask;

        private sealed record JsSignedRequest(
            [property: System.Text.Json.Serialization.JsonPropertyName("url")] string Url,
            [property: System.Text.Json.Serialization.JsonPropertyName("headers")] Dictionary<string, string> Headers);
    }
}

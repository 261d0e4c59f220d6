using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>Named keys with roles over real HTTP: who gets which route, hashed keys, the query form gone, bad settings refused.</summary>
public sealed class ApiKeyTests
{
    private const string ReaderKey = "reader-key-0123456789abcdef";
    private const string OperatorKey = "operator-key-0123456789abcdef";
    private const string MetricsKey = "metrics-key-0123456789abcdef";

    /// <summary>Three keys, the operator's given only as its SHA-256.</summary>
    internal static void ThreeKeys(Dictionary<string, string?> settings)
    {
        settings["CallVault:Api:Keys:viewer:Role"] = "reader";
        settings["CallVault:Api:Keys:viewer:Key"] = ReaderKey;
        settings["CallVault:Api:Keys:ops:Role"] = "operator";
        settings["CallVault:Api:Keys:ops:KeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(OperatorKey)));
        settings["CallVault:Api:Keys:prometheus:Role"] = "metrics";
        settings["CallVault:Api:Keys:prometheus:Key"] = MetricsKey;
    }

    [Theory]
    [InlineData(null, "GET", "api/recordings", HttpStatusCode.Unauthorized)]
    [InlineData(null, "GET", "metrics", HttpStatusCode.Unauthorized)]
    [InlineData(null, "POST", "api/jobs/0-eus-d1-unknown/retry", HttpStatusCode.Unauthorized)]
    [InlineData("not-a-configured-key-at-all", "GET", "api/recordings", HttpStatusCode.Unauthorized)]
    [InlineData(ReaderKey, "GET", "api/recordings", HttpStatusCode.OK)]
    [InlineData(ReaderKey, "GET", "api/jobs", HttpStatusCode.OK)]
    [InlineData(ReaderKey, "GET", "api/events/rejected", HttpStatusCode.OK)]
    [InlineData(ReaderKey, "GET", "api/recordings/none/chunks/0/media", HttpStatusCode.NotFound)]
    [InlineData(ReaderKey, "POST", "api/jobs/0-eus-d1-unknown/retry", HttpStatusCode.Forbidden)]
    [InlineData(ReaderKey, "GET", "metrics", HttpStatusCode.Forbidden)]
    [InlineData(OperatorKey, "GET", "api/recordings", HttpStatusCode.OK)]
    [InlineData(OperatorKey, "POST", "api/jobs/0-eus-d1-unknown/retry", HttpStatusCode.NotFound)]
    [InlineData(OperatorKey, "GET", "metrics", HttpStatusCode.Forbidden)]
    [InlineData(MetricsKey, "GET", "metrics", HttpStatusCode.OK)]
    [InlineData(MetricsKey, "GET", "api/recordings", HttpStatusCode.Forbidden)]
    [InlineData(MetricsKey, "POST", "api/jobs/0-eus-d1-unknown/retry", HttpStatusCode.Forbidden)]
    [InlineData(null, "GET", "health/live", HttpStatusCode.OK)]
    public async Task Keys_EachRoleGetsOnlyItsRoutes(string? key, string method, string path, HttpStatusCode expected)
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, ThreeKeys);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        using var response = await server.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(expected, response.StatusCode);
        Assert.DoesNotContain(key ?? ReaderKey, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_TheQueryFormIsGone()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, ThreeKeys);

        using var recordings = await server.Client.GetAsync($"api/recordings?api-key={ReaderKey}");
        using var metrics = await server.Client.GetAsync($"metrics?api-key={MetricsKey}");

        Assert.Equal(HttpStatusCode.Unauthorized, recordings.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
    }

    [Fact]
    public async Task Keys_TheCallerIsTheKeysNameNeverTheKey()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, ThreeKeys);
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/auth/me");
        request.Headers.Add("X-Api-Key", OperatorKey);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "api/recordings");
        wrong.Headers.Add("X-Api-Key", "a-wrong-key-that-must-not-be-logged");

        var me = await (await server.Client.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();
        using var refused = await server.Client.SendAsync(wrong);

        Assert.Equal("ops", me.GetProperty("name").GetString());
        Assert.Equal("operator", me.GetProperty("role").GetString());
        Assert.Equal(["reader", "operator"], me.GetProperty("roles").EnumerateArray().Select(r => r.GetString()).Order().Reverse());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain("a-wrong-key-that-must-not-be-logged", server.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(OperatorKey, server.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(ReaderKey, server.Logs.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Role", "writer", "CallVault:Api:Keys:bad:Role must be one of reader, operator, metrics")]
    [InlineData("Key", "short-secret", "CallVault:Api:Keys:bad:Key must be at least 16 characters")]
    [InlineData("KeySha256", "not-hex-at-all-and-a-secret", "CallVault:Api:Keys:bad:KeySha256 must be 64 hexadecimal characters")]
    [InlineData("Both", "both-the-key-and-its-hash-given", "CallVault:Api:Keys:bad needs exactly one of Key (the secret) or KeySha256 (its SHA-256 in hex); it has both")]
    [InlineData("Neither", "", "CallVault:Api:Keys:bad needs exactly one of Key (the secret) or KeySha256 (its SHA-256 in hex); it has neither")]
    public async Task BadKeySettings_AreRefusedAtStartup_NamingTheSettingNotTheValue(string setting, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Api:Keys:bad:Role"] = setting == "Role" ? value : "reader";
            switch (setting)
            {
                case "Role":
                    s["CallVault:Api:Keys:bad:Key"] = "a-long-enough-secret-key";
                    break;
                case "Both":
                    s["CallVault:Api:Keys:bad:Key"] = value;
                    s["CallVault:Api:Keys:bad:KeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
                    break;
                case "Neither":
                    break;
                default:
                    s[$"CallVault:Api:Keys:bad:{setting}"] = value;
                    break;
            }
        }));

        var failures = string.Join('\n', error.Failures);
        Assert.Contains(expected, failures, StringComparison.Ordinal);
        if (value.Length > 0)
        {
            Assert.DoesNotContain(value, failures.Replace(expected, string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AllowAnonymous_IsLoggedAsAWarning()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s => s["CallVault:Api:AllowAnonymous"] = "true");

        using var recordings = await server.Client.GetAsync("api/recordings");
        var me = await server.Client.GetFromJsonAsync<JsonElement>("api/auth/me");

        Assert.Equal(HttpStatusCode.OK, recordings.StatusCode);
        Assert.Equal("anonymous", me.GetProperty("name").GetString());
        Assert.Contains(server.Logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("AllowAnonymous", StringComparison.Ordinal));
    }
}

/// <summary>Keyless on loopback: only this machine's user, only loopback host names, state changes with the header, no CORS.</summary>
public sealed class KeylessAccessTests
{
    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    [InlineData("LOCALHOST:1234")]
    public async Task LoopbackHostNames_AreServedAsLocal(string host)
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/auth/me");
        request.Headers.Host = host;

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("local", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("api/recordings")]
    [InlineData("metrics")]
    [InlineData("")]
    public async Task AnotherHostName_IsRefused(string path)
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = "attacker.example";

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
    }

    [Fact]
    public async Task AConfiguredHostName_IsServedToo()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s => s["CallVault:Api:AllowedHosts:0"] = "callvault.internal");
        using var configured = new HttpRequestMessage(HttpMethod.Get, "api/recordings");
        configured.Headers.Host = "callvault.internal:5080";
        using var other = new HttpRequestMessage(HttpMethod.Get, "api/recordings");
        other.Headers.Host = "attacker.example";

        using var configuredResponse = await server.Client.SendAsync(configured);
        using var otherResponse = await server.Client.SendAsync(other);

        Assert.Equal(HttpStatusCode.OK, configuredResponse.StatusCode);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, otherResponse.StatusCode);
    }

    [Fact]
    public async Task AStateChange_NeedsTheRequestHeader()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null);
        using var form = new HttpRequestMessage(HttpMethod.Post, "api/jobs/0-eus-d1-unknown/retry")
        {
            Content = new FormUrlEncodedContent([new("a", "b")]),
        };
        using var withHeader = new HttpRequestMessage(HttpMethod.Post, "api/jobs/0-eus-d1-unknown/retry");
        withHeader.Headers.Add("X-CallVault-Request", "1");

        using var formResponse = await server.Client.SendAsync(form);
        using var headerResponse = await server.Client.SendAsync(withHeader);

        Assert.Equal(HttpStatusCode.Forbidden, formResponse.StatusCode);
        Assert.Contains("X-CallVault-Request", await formResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, headerResponse.StatusCode);
    }

    [Fact]
    public async Task ThroughAProxyOnThisMachine_IsNotLocal()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null);
        await using var proxy = await ForwardingProxy.StartAsync(server.BaseAddress, IPAddress.Parse("203.0.113.7"));

        using var recordings = await proxy.Client.GetAsync("api/recordings");
        using var metrics = await proxy.Client.GetAsync("metrics");
        using var direct = await server.Client.GetAsync("api/recordings");

        Assert.Equal(HttpStatusCode.Unauthorized, recordings.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
    }

    [Theory]
    [InlineData("GET", "api/recordings")]
    [InlineData("OPTIONS", "api/recordings")]
    [InlineData("OPTIONS", "api/jobs/x/retry")]
    [InlineData("POST", "api/auth/sign-in")]
    [InlineData("GET", "metrics")]
    public async Task NoCors_NoAnswerAllowsAnotherOrigin(string method, string path)
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add("Origin", "https://attacker.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "x-callvault-request");

        using var response = await server.Client.SendAsync(request);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Headers"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }
}

/// <summary>The dashboard's session: sign in once with a key, then a cookie that carries no key and ends with it.</summary>
public sealed class SessionTests
{
    private const string OperatorKey = "operator-key-0123456789abcdef";

    private static void OneOperator(Dictionary<string, string?> settings)
    {
        settings["CallVault:Api:Keys:ops:Role"] = "operator";
        settings["CallVault:Api:Keys:ops:Key"] = OperatorKey;
    }

    private static (HttpClient Client, CookieContainer Cookies) Browser(Uri baseAddress)
    {
        var cookies = new CookieContainer();
        return (new HttpClient(new SocketsHttpHandler { CookieContainer = cookies }) { BaseAddress = baseAddress }, cookies);
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string key) =>
        client.PostAsJsonAsync("api/auth/sign-in", new { key });

    [Fact]
    public async Task SignIn_SetsAStrictHttpOnlyCookieThatOpensTheApi()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, OneOperator);
        var (client, cookies) = Browser(server.BaseAddress);
        using var _ = client;

        using var before = await client.GetAsync("api/auth/me");
        using var signIn = await SignInAsync(client, OperatorKey);
        var setCookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        var me = await client.GetFromJsonAsync<JsonElement>("api/auth/me");
        using var recordings = await client.GetAsync("api/recordings");
        using var signOut = new HttpRequestMessage(HttpMethod.Post, "api/auth/sign-out");
        signOut.Headers.Add("X-CallVault-Request", "1");
        using var signOutResponse = await client.SendAsync(signOut);
        using var after = await client.GetAsync("api/auth/me");

        Assert.Equal(HttpStatusCode.Unauthorized, before.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, signIn.StatusCode);
        Assert.StartsWith("callvault.session=", setCookie, StringComparison.Ordinal);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie.Replace("samesite", string.Empty, StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(OperatorKey, setCookie, StringComparison.Ordinal);
        Assert.Equal(("ops", "operator"), (me.GetProperty("name").GetString(), me.GetProperty("role").GetString()));
        Assert.Equal(HttpStatusCode.OK, recordings.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, signOutResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task SignIn_WithAWrongKey_Is401AndLoggedWithoutTheValue()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, OneOperator);
        var (client, cookies) = Browser(server.BaseAddress);
        using var _ = client;

        using var response = await SignInAsync(client, "a-guess-that-must-not-be-logged");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(cookies.GetAllCookies());
        Assert.Contains(server.Logs.Lines, line => line.Contains("Refused a dashboard sign-in", StringComparison.Ordinal) && line.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.DoesNotContain("a-guess-that-must-not-be-logged", server.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_AttemptsAreLimitedPerClientAddress()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, OneOperator);
        var statuses = new List<HttpStatusCode>();

        // Far more attempts than the burst allows, faster than one more is granted (one per 30 seconds).
        for (var attempt = 0; attempt < 25; attempt++)
        {
            using var response = await SignInAsync(server.Client, $"guess-number-{attempt:00}-of-many");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, statuses[0]);
        Assert.True(statuses.Count(s => s == HttpStatusCode.TooManyRequests) >= 10, string.Join(", ", statuses));
    }

    [Fact]
    public async Task CrossSiteFormPost_WithTheCookie_IsRefused()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, OneOperator);
        var (client, _) = Browser(server.BaseAddress);
        using var __ = client;
        (await SignInAsync(client, OperatorKey)).EnsureSuccessStatusCode();
        using var form = new HttpRequestMessage(HttpMethod.Post, "api/jobs/0-eus-d1-unknown/retry")
        {
            Content = new FormUrlEncodedContent([new("documentId", "0-eus-d1-unknown")]),
        };
        using var withHeader = new HttpRequestMessage(HttpMethod.Post, "api/jobs/0-eus-d1-unknown/retry");
        withHeader.Headers.Add("X-CallVault-Request", "1");
        using var signOutForm = new HttpRequestMessage(HttpMethod.Post, "api/auth/sign-out") { Content = new FormUrlEncodedContent([]) };

        using var formResponse = await client.SendAsync(form);
        using var signOutResponse = await client.SendAsync(signOutForm);
        using var headerResponse = await client.SendAsync(withHeader);

        Assert.Equal(HttpStatusCode.Forbidden, formResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, signOutResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, headerResponse.StatusCode);
    }

    [Fact]
    public async Task SignIn_WithAFormInsteadOfJson_IsRefused()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, OneOperator);

        using var response = await server.Client.PostAsync("api/auth/sign-in", new FormUrlEncodedContent([new("key", OperatorKey)]));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("removed")]
    [InlineData("new secret")]
    [InlineData("new role")]
    public async Task AKeyRemovedOrChanged_EndsItsSessions(string change)
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            OneOperator(s);
            s["CallVault:Api:Keys:other:Role"] = "reader";
            s["CallVault:Api:Keys:other:Key"] = "another-key-0123456789abcdef";
        });
        var (client, _) = Browser(server.BaseAddress);
        using var __ = client;
        (await SignInAsync(client, OperatorKey)).EnsureSuccessStatusCode();
        using var before = await client.GetAsync("api/recordings");

        server.Reconfigure(change switch
        {
            "removed" => new Dictionary<string, string?> { ["CallVault:Api:Keys:ops:Role"] = null, ["CallVault:Api:Keys:ops:Key"] = null },
            "new secret" => new Dictionary<string, string?> { ["CallVault:Api:Keys:ops:Key"] = "a-new-secret-for-the-same-name" },
            _ => new Dictionary<string, string?> { ["CallVault:Api:Keys:ops:Role"] = "reader" },
        });
        using var after = await client.GetAsync("api/recordings");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task ASession_SurvivesARestart()
    {
        var server = await ServerUnderTest.StartAsync(emulator: null, OneOperator);
        var (client, cookies) = Browser(server.BaseAddress);
        using var _ = client;
        (await SignInAsync(client, OperatorKey)).EnsureSuccessStatusCode();
        var data = server.DataFolder;
        await server.StopAsync();

        await using var restarted = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            OneOperator(s);
            s["CallVault:DataDirectory"] = data;
        });

        // The same browser (cookies are per host name, not per port) on the restarted service.
        using var again = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies }) { BaseAddress = restarted.BaseAddress };
        using var response = await again.GetAsync("api/auth/me");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(data, "keys"), "*.xml"));
    }
}

/// <summary>The CLI's <c>--api-key</c> travels as <c>X-Api-Key</c>, and the key's role decides what it may do.</summary>
public sealed class CliWithKeysTests
{
    private const string ReaderKey = "reader-key-0123456789abcdef";
    private const string OperatorKey = "operator-key-0123456789abcdef";

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(ServerUnderTest server, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new System.CommandLine.RootCommand { CallVault.Cli.Commands.JobsCommand.Create() };
        var exitCode = await CallVault.Cli.CommandRunner.RunAsync(root, [.. args, "--server", server.BaseAddress.AbsoluteUri], output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task ApiKeyOption_IsSentAsTheHeaderAndItsRoleApplies()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Api:Keys:viewer:Role"] = "reader";
            s["CallVault:Api:Keys:viewer:Key"] = ReaderKey;
            s["CallVault:Api:Keys:ops:Role"] = "operator";
            s["CallVault:Api:Keys:ops:Key"] = OperatorKey;
        });

        var withoutKey = await RunAsync(server, "jobs", "list", "--json");
        var list = await RunAsync(server, "jobs", "list", "--json", "--api-key", ReaderKey);
        var readerRetry = await RunAsync(server, "jobs", "retry", "0-eus-d1-unknown", "--api-key", ReaderKey);
        var operatorRetry = await RunAsync(server, "jobs", "retry", "0-eus-d1-unknown", "--api-key", OperatorKey);

        Assert.Equal(1, withoutKey.ExitCode);
        Assert.Contains("401", withoutKey.Error, StringComparison.Ordinal);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("403", readerRetry.Error, StringComparison.Ordinal);
        Assert.StartsWith("error: the service answered 404", operatorRetry.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(ReaderKey, list.Output + readerRetry.Error + server.Logs.Text, StringComparison.Ordinal);
    }
}

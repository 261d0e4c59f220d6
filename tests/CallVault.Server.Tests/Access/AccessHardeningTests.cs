using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Server.Access;

namespace CallVault.Server.Tests.Access;

/// <summary>
/// Hostile callers over real HTTP: forged forwarded headers, floods of refusals, guessed keys, an OpenID metadata
/// address in the clear, and a DNS-rebinding page reading readiness details.
/// </summary>
public sealed class AccessHardeningTests
{
    private const string ReaderKey = "hardening-reader-key-0123456789abcdef";

    private static void WithReaderKey(Dictionary<string, string?> settings)
    {
        settings["CallVault:Api:Keys:viewer:Role"] = "reader";
        settings["CallVault:Api:Keys:viewer:Key"] = ReaderKey;
    }

    /// <summary>
    /// ASPNETCORE_FORWARDEDHEADERS_ENABLED alone (no proxies configured for CallVault) must not make a forged
    /// X-Forwarded-For believed: each forged address would get a fresh sign-in bucket.
    /// </summary>
    [Fact]
    public async Task ForwardedHeadersEnabledByAspNet_WithoutConfiguredProxies_ForgedAddressesShareOneSignInLimit()
    {
        var data = Directory.CreateTempSubdirectory("callvault-forwarded-");
        try
        {
            var settings = ServerUnderTest.SettingsFor(null, data.FullName, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            WithReaderKey(settings);
            settings["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = "true";
            await using var service = new ServiceChildProcess(settings);
            await service.StartAsync();
            using var client = new HttpClient { BaseAddress = service.BaseAddress };

            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i <= SessionEndpoints.SignInBurst; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "api/auth/sign-in") { Content = JsonContent.Create(new { key = "wrong-key" }) };
                request.Headers.Add("X-Forwarded-For", $"198.51.100.{i + 1}");
                using var response = await client.SendAsync(request);
                statuses.Add(response.StatusCode);
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    /// <summary>Guessing keys through the header: after the allowed failures, the address gets 429, even with a right key.</summary>
    [Fact]
    public async Task GuessingKeys_IsLimitedPerAddress_AndLoggedOnce()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, WithReaderKey);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < FailedKeyAttempts.MaxFailures + 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/recordings") { Headers = { { "X-Api-Key", $"guess-{i}" } } };
            using var response = await server.Client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        using var right = new HttpRequestMessage(HttpMethod.Get, "api/recordings") { Headers = { { "X-Api-Key", ReaderKey } } };
        using var rightResponse = await server.Client.SendAsync(right);

        Assert.All(statuses.Take(FailedKeyAttempts.MaxFailures), s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.All(statuses.Skip(FailedKeyAttempts.MaxFailures), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, rightResponse.StatusCode);
        Assert.True(rightResponse.Headers.RetryAfter is not null, "429 without Retry-After");
        Assert.Single(server.Logs.Lines, l => l.Contains("unknown API key", StringComparison.Ordinal));
    }

    /// <summary>Refused host names and refused callbacks: a flood writes one line each.</summary>
    [Fact]
    public async Task RefusedHostsAndCallbacks_FloodWritesOneLineEach()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null);

        for (var i = 0; i < 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/recordings");
            request.Headers.Host = "rebound.example";
            using var refused = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.MisdirectedRequest, refused.StatusCode);
            using var callback = await server.Client.PostAsync("api/callbacks", JsonContent.Create(Array.Empty<object>()));
            Assert.Equal(HttpStatusCode.Unauthorized, callback.StatusCode);
        }

        Assert.Single(server.Logs.Lines, l => l.Contains("host name this service does not answer to", StringComparison.Ordinal));
        Assert.Single(server.Logs.Lines, l => l.Contains("Refused a Call Automation callback", StringComparison.Ordinal));
    }

    /// <summary>The callback tokens' signing keys come from the metadata: in the clear, only from a loopback emulator.</summary>
    [Fact]
    public async Task CallbackMetadataOverPlainHttp_BeyondLoopback_RefusesToStart()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ServerUnderTest.StartAsync(emulator: null, s =>
        {
            WithReaderKey(s);
            s["CallVault:Recording:CallbackMetadataAddress"] = "http://idp.example.com/.well-known/openid-configuration";
        }));

        Assert.Contains("CallbackMetadataAddress must use https", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A keyless loopback service: a page rebound to 127.0.0.1 (Host: rebound.example) reaches the probes, which are
    /// exempt from the host check, but learns only the status; asked by a loopback name, the details are there.
    /// </summary>
    [Fact]
    public async Task Health_ForAHostNotAnswered_GivesOnlyTheStatus()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null);

        using var rebound = new HttpRequestMessage(HttpMethod.Get, "health/ready");
        rebound.Headers.Host = "rebound.example";
        using var reboundResponse = await server.Client.SendAsync(rebound);
        using var local = await server.Client.GetAsync("health/ready");

        Assert.Equal(["status"], (await reboundResponse.Content.ReadFromJsonAsync<JsonElement>()).EnumerateObject().Select(p => p.Name));
        Assert.True((await local.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("checks", out _));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// <c>/health/live</c> and <c>/health/ready</c> over HTTP: anonymous callers learn the status and nothing else; a caller
/// with a reader's key gets every check's description and data; a key of another role (metrics) does not.
/// </summary>
public sealed class HealthTests
{
    private const string Key = "health-reader-key-0123456789abcdef";
    private const string MetricsKey = "health-metrics-key-0123456789abcdef";

    /// <summary>A service with keys answers an anonymous readiness probe with its status alone; the key unlocks the details.</summary>
    [Fact]
    public async Task Ready_WithoutKey_AnswersOnlyTheStatus()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Acs:ConnectionString"] = "endpoint=https://contoso.communication.azure.com/;accesskey=" + Convert.ToBase64String(new byte[32]);
            s["CallVault:Api:Keys:monitor:Key"] = Key;
            s["CallVault:Api:Keys:monitor:Role"] = "reader";
            s["CallVault:Api:Keys:scraper:Key"] = MetricsKey;
            s["CallVault:Api:Keys:scraper:Role"] = "metrics";
        });

        using var anonymous = await server.Client.GetAsync("health/ready");
        using var live = await server.Client.GetAsync("health/live");
        using var withKey = new HttpRequestMessage(HttpMethod.Get, "health/ready") { Headers = { { "X-Api-Key", Key } } };
        using var detailed = await server.Client.SendAsync(withKey);
        using var withMetricsKey = new HttpRequestMessage(HttpMethod.Get, "health/ready") { Headers = { { "X-Api-Key", MetricsKey } } };
        using var metricsOnly = await server.Client.SendAsync(withMetricsKey);

        Assert.Equal("""{"status":"Healthy"}""", await metricsOnly.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        var body = await anonymous.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["status"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        Assert.Equal(["status"], (await live.Content.ReadFromJsonAsync<JsonElement>()).EnumerateObject().Select(p => p.Name));
        var checks = (await detailed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.Equal(["configuration", "database", "sessions", "store"], checks.EnumerateObject().Select(p => p.Name).Order());
        Assert.True(checks.GetProperty("database").GetProperty("data").TryGetProperty("pending", out _));
    }

    /// <summary>An unhealthy service says 503 and Unhealthy to anyone, but the exception text (a database host, a path) only with a key.</summary>
    [Fact]
    public async Task Ready_Unhealthy_KeepsTheReasonForKeyHolders()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s.Remove("CallVault:Acs:ConnectionString");
            s["CallVault:Api:Keys:monitor:Key"] = Key;
            s["CallVault:Api:Keys:monitor:Role"] = "reader";
            s["CallVault:Api:Keys:scraper:Key"] = MetricsKey;
            s["CallVault:Api:Keys:scraper:Role"] = "metrics";
        });

        using var anonymous = await server.Client.GetAsync("health/ready");
        using var withKey = new HttpRequestMessage(HttpMethod.Get, "health/ready") { Headers = { { "X-Api-Key", Key } } };
        using var detailed = await server.Client.SendAsync(withKey);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, anonymous.StatusCode);
        Assert.Equal("""{"status":"Unhealthy"}""", await anonymous.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, detailed.StatusCode);
        Assert.Contains("CallVault__Acs__ConnectionString", await detailed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

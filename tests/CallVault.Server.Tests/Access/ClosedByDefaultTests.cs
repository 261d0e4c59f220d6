using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Server.Tests.Access;

/// <summary>
/// Closed by default: every endpoint of the real service either requires authorization or is explicitly anonymous, and
/// the anonymous ones are exactly those listed here, each with its reason. A new endpoint that forgets its policy fails.
/// </summary>
public sealed class ClosedByDefaultTests
{
    private const string Key = "closed-by-default-key-0123456789abcdef";

    /// <summary>
    /// The endpoints anyone may call, and why. The OpenAPI document is not among them: it only describes routes, but
    /// it needs the Reader policy anyway, since a map of the API is of use to nobody without a key.
    /// </summary>
    private static readonly Dictionary<string, string> Anonymous = new(StringComparer.Ordinal)
    {
        ["POST /api/events"] = "the Event Grid webhook: its own secret, checked by WebhookSecretFilter",
        ["OPTIONS /api/events"] = "the CloudEvents handshake, behind the same secret filter",
        ["POST /api/callbacks"] = "Call Automation callbacks: their own token or secret",
        ["POST /api/auth/sign-in"] = "the dashboard's sign-in, rate-limited per client address",
        ["POST /api/auth/sign-out"] = "ends the caller's own session (nothing to protect; needs X-CallVault-Request)",
        ["* /health/live"] = "liveness probe (any method): the status only, details to readers",
        ["* /health/ready"] = "readiness probe (any method): the status only, details to readers",
    };

    [Fact]
    public async Task EveryEndpoint_RequiresAuthorizationOrIsAListedAnonymousOne()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Api:Keys:viewer:Role"] = "reader";
            s["CallVault:Api:Keys:viewer:Key"] = Key;
        });

        var seenAnonymous = new List<string>();
        var open = new List<string>();
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.NotEmpty(endpoints);
        foreach (var endpoint in endpoints)
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"];
            var route = "/" + endpoint.RoutePattern.RawText?.Trim('/');
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var authorized = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Count > 0;
            foreach (var method in methods)
            {
                var name = $"{method} {route}";
                if (anonymous)
                {
                    seenAnonymous.Add(name);
                }
                else if (!authorized)
                {
                    open.Add(name);
                }
            }
        }

        Assert.True(open.Count == 0, "Endpoints neither authorized nor explicitly anonymous: " + string.Join(", ", open));
        Assert.Equal(Anonymous.Keys.Order(), seenAnonymous.Distinct().Order());
    }

    /// <summary>The webhook is anonymous only to the access rules: without its secret, it refuses.</summary>
    [Fact]
    public async Task AnonymousWebhook_StillNeedsItsSecret()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Api:Keys:viewer:Role"] = "reader";
            s["CallVault:Api:Keys:viewer:Key"] = Key;
        });

        using var post = await server.Client.PostAsync("api/events", new StringContent("[]", System.Text.Encoding.UTF8, "application/json"));
        using var wrong = await server.Client.PostAsync("api/events?code=wrong-secret", new StringContent("[]", System.Text.Encoding.UTF8, "application/json"));
        using var handshake = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "api/events") { Headers = { { "WebHook-Request-Origin", "eventgrid.azure.net" } } });

        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, handshake.StatusCode);
    }

    /// <summary>The OpenAPI document needs a reader's key (see <see cref="Anonymous"/>).</summary>
    [Fact]
    public async Task OpenApi_NeedsAReadersKey()
    {
        await using var server = await ServerUnderTest.StartAsync(emulator: null, s =>
        {
            s["CallVault:Api:Keys:viewer:Role"] = "reader";
            s["CallVault:Api:Keys:viewer:Key"] = Key;
        });

        using var anonymous = await server.Client.GetAsync("openapi/v1.json");
        using var request = new HttpRequestMessage(HttpMethod.Get, "openapi/v1.json") { Headers = { { "X-Api-Key", Key } } };
        using var withKey = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
    }
}

using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Access;

/// <summary>
/// Who may use the API, the dashboard and <c>/metrics</c>: named keys with roles (header <c>X-Api-Key</c> or a dashboard
/// session cookie), keyless access only on loopback, trusted proxies, allowed host names and the state-change header.
/// </summary>
internal static partial class AccessHostingExtensions
{
    /// <summary>Picks the scheme per request, so that every policy works with either a key header or a session.</summary>
    private const string SelectorScheme = "CallVault";

    public static IServiceCollection AddCallVaultAccess(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CallVaultOptions>, AccessModeValidator>());
        services.AddSingleton(sp => AccessMode.Decide(sp.GetRequiredService<IOptions<CallVaultOptions>>().Value.Api, sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<ApiKeyRing>();
        services.AddSingleton<AccessRefusalLog>();
        services.AddSingleton<FailedKeyAttempts>();

        services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "Key header or session", policy => policy.ForwardDefaultSelector = context =>
                !context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName)
                && context.Request.Cookies.ContainsKey(SessionEndpoints.CookieName)
                && context.RequestServices.GetRequiredService<AccessMode>().Kind == AccessKind.Keys
                    ? CookieAuthenticationDefaults.AuthenticationScheme
                    : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie();
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IOptions<CallVaultOptions>>((cookie, options) =>
            {
                cookie.Cookie.Name = SessionEndpoints.CookieName;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.Cookie.IsEssential = true;
                cookie.Cookie.Path = "/";
                cookie.ExpireTimeSpan = options.Value.Api.SessionIdleTimeout;
                cookie.SlidingExpiration = true;

                // 401 and 403 as problem details, never a redirect to a login page.
                cookie.ForwardChallenge = ApiKeyAuthenticationHandler.SchemeName;
                cookie.ForwardForbid = ApiKeyAuthenticationHandler.SchemeName;
                cookie.Events.OnValidatePrincipal = ValidateSessionAsync;
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(AccessPolicies.Reader, policy => policy.RequireRole(ApiRoles.Reader))
            .AddPolicy(AccessPolicies.Operator, policy => policy.RequireRole(ApiRoles.Operator))
            .AddPolicy(AccessPolicies.Metrics, policy => policy.RequireRole(ApiRoles.Metrics));

        // Session cookies are protected with keys kept beside the data, so a restart does not sign everyone out.
        services.AddDataProtection().SetApplicationName("CallVault");
        services.AddOptions<KeyManagementOptions>().Configure<Hosting.DataFolder, ILoggerFactory>((keys, folder, loggers) =>
        {
            var path = Path.Combine(folder.Path, "keys");
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            keys.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(path), loggers);
        });

        services.AddRateLimiter(SessionEndpoints.AddSignInRateLimit);
        // PostConfigure, so that this wins over ASP.NET's own setup for ASPNETCORE_FORWARDEDHEADERS_ENABLED, which runs
        // the middleware trusting every sender: without proxies configured here, no forwarded header is believed.
        services.AddOptions<ForwardedHeadersOptions>().PostConfigure<IOptions<CallVaultOptions>>((forwarded, options) =>
        {
            var proxies = options.Value.Api.ForwardedHeaders;
            forwarded.ForwardedHeaders = proxies.Configured
                ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto
                : ForwardedHeaders.None;

            // Only the configured proxies: ASP.NET's default trusts loopback, which is where a same-host proxy connects from.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in proxies.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in proxies.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }

            // Walk back through every known proxy in a chain, stopping at the first address that is not one.
            forwarded.ForwardLimit = null;
        });
        return services;
    }

    /// <summary>
    /// The access middleware, in order: forwarded headers (so the client's address is known), allowed host names,
    /// the limit on unknown keys, routing, authentication, the sign-in rate limit, the state-change header, then authorization.
    /// </summary>
    public static WebApplication UseCallVaultAccess(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var mode = app.Services.GetRequiredService<AccessMode>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CallVault.Access");
        var options = app.Services.GetRequiredService<IOptions<CallVaultOptions>>().Value.Api;
        switch (mode.Kind)
        {
            case AccessKind.Anonymous:
                Log.AnonymousAccess(logger, string.Join(", ", mode.Listening.Addresses));
                break;
            case AccessKind.Local:
                Log.LocalAccess(logger, string.Join(", ", mode.Listening.Addresses));
                break;
            default:
                Log.KeyAccess(logger, string.Join(", ", options.ConfiguredKeys.Select(k => $"{k.Key} ({k.Value.Role})")));
                break;
        }

        if (options.ForwardedHeaders.Configured)
        {
            app.UseForwardedHeaders();
        }

        app.UseMiddleware<AllowedHostsMiddleware>();
        app.UseMiddleware<FailedKeyAttemptsMiddleware>();
        app.UseRouting();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseMiddleware<StateChangeGuardMiddleware>();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// A session lasts only as long as its key: removed from configuration, given another role or another secret,
    /// the key's sessions end at their next request.
    /// </summary>
    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var name = context.Principal?.Identity?.Name;
        var key = name is null ? null : context.HttpContext.RequestServices.GetRequiredService<ApiKeyRing>().Find(name);
        if (key is not null
            && context.Principal!.FindFirst(Callers.RoleClaim)?.Value == key.Role
            && context.Principal.FindFirst(Callers.KeyFingerprintClaim)?.Value == key.Fingerprint)
        {
            return;
        }

        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "CallVault:Api:AllowAnonymous is set: EVERY caller that reaches {Addresses} can list, play and retry recordings and read /metrics without a key. Only do this behind your own authenticating proxy.")]
        public static partial void AnonymousAccess(ILogger logger, string addresses);

        [LoggerMessage(2, LogLevel.Information, "No API keys: the API answers only this machine, over loopback ({Addresses})")]
        public static partial void LocalAccess(ILogger logger, string addresses);

        [LoggerMessage(3, LogLevel.Information, "API keys: {Keys}")]
        public static partial void KeyAccess(ILogger logger, string keys);
    }
}

/// <summary>Refuses to start when keyless access would reach beyond this machine.</summary>
internal sealed class AccessModeValidator(IConfiguration configuration) : IValidateOptions<CallVaultOptions>
{
    public ValidateOptionsResult Validate(string? name, CallVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return AccessMode.Decide(options.Api, configuration) is { Kind: AccessKind.Refused, Refusal: { } refusal }
            ? ValidateOptionsResult.Fail(refusal)
            : ValidateOptionsResult.Success;
    }
}

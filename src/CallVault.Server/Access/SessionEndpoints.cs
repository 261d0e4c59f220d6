using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallVault.Server.Access;

/// <summary>
/// The dashboard's sign-in: <c>POST /api/auth/sign-in</c> with <c>{"key":"..."}</c> sets the HttpOnly, SameSite=Strict
/// session cookie <c>callvault.session</c> (204, or 401); <c>POST /api/auth/sign-out</c> ends it (204);
/// <c>GET /api/auth/me</c> says who the caller is (or 401).
/// </summary>
internal static partial class SessionEndpoints
{
    public const string CookieName = "callvault.session";

    public const string SignInRateLimit = "sign-in";

    /// <summary>Sign-in attempts a client address may make at once; then one more per <see cref="SignInRefill"/>.</summary>
    public const int SignInBurst = 10;

    public static readonly TimeSpan SignInRefill = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapSessionEndpoints(this IEndpointRouteBuilder routes)
    {
        var auth = routes.MapGroup("/api/auth").WithTags("Access");
        auth.MapPost("/sign-in", SignInAsync)
            .RequireRateLimiting(SignInRateLimit)
            .AllowAnonymous()
            .WithSummary("Signs the dashboard in with a key: 204 and the session cookie callvault.session, or 401. Limited per client address (429).");
        auth.MapPost("/sign-out", SignOutAsync)
            .WithMetadata(new StateChangeMetadata())
            // Ends only the caller's own session, if any; still needs X-CallVault-Request against a cross-site sign-out.
            .AllowAnonymous()
            .WithSummary("Ends the dashboard's session (204).");
        auth.MapGet("/me", (HttpContext context) =>
            TypedResults.Ok(new CallerResponse(
                context.User.Identity!.Name!,
                context.User.FindFirst(Callers.RoleClaim)?.Value ?? ApiRoles.Reader,
                [.. ApiRoles.All.Where(context.User.IsInRole)])))
            .RequireAuthorization()
            .WithSummary("The caller: the key's name and role (local or anonymous, with every role, when the service has no keys); 401 otherwise.");
        return routes;
    }

    /// <summary>Limits sign-in attempts per client address (per /64 for IPv6, which a client gets many of).</summary>
    public static void AddSignInRateLimit(Microsoft.AspNetCore.RateLimiting.RateLimiterOptions limiter)
    {
        ArgumentNullException.ThrowIfNull(limiter);
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.AddPolicy(SignInRateLimit, context => RateLimitPartition.GetTokenBucketLimiter(
            ClientPartition.Of(context.Connection.RemoteIpAddress),
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = SignInBurst,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = SignInRefill,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    private static async Task<Results<NoContent, UnauthorizedHttpResult, BadRequest<Microsoft.AspNetCore.Mvc.ProblemDetails>>> SignInAsync(
        SignInRequest? request,
        HttpContext context,
        ApiKeyRing keys,
        ILoggerFactory loggers)
    {
        if (request?.Key is not { Length: > 0 } presented)
        {
            return TypedResults.BadRequest(new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = StatusCodes.Status400BadRequest, Detail = "Send {\"key\":\"...\"} as JSON." });
        }

        if (keys.Match(presented) is not { } key)
        {
            Log.SignInRefused(loggers.CreateLogger("CallVault.Access"), context.Connection.RemoteIpAddress?.ToString());
            return TypedResults.Unauthorized();
        }

        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, Callers.ForKey(key, Callers.BySession));
        Log.SignedIn(loggers.CreateLogger("CallVault.Access"), key.Name, key.Role, context.Connection.RemoteIpAddress?.ToString());
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> SignOutAsync(HttpContext context, ILoggerFactory loggers)
    {
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        if (context.User.Identity is { IsAuthenticated: true, AuthenticationType: Callers.BySession, Name: { } name })
        {
            Log.SignedOut(loggers.CreateLogger("CallVault.Access"), name);
        }

        return TypedResults.NoContent();
    }

    /// <summary>The sign-in body.</summary>
    internal sealed record SignInRequest(string? Key);

    /// <summary>Who the caller is.</summary>
    internal sealed record CallerResponse(string Name, string Role, IReadOnlyList<string> Roles);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a dashboard sign-in with an unknown key from {RemoteAddress}")]
        public static partial void SignInRefused(ILogger logger, string? remoteAddress);

        [LoggerMessage(2, LogLevel.Information, "Signed in the dashboard with key {KeyName} ({Role}) from {RemoteAddress}")]
        public static partial void SignedIn(ILogger logger, string keyName, string role, string? remoteAddress);

        [LoggerMessage(3, LogLevel.Information, "Signed out the dashboard session of key {KeyName}")]
        public static partial void SignedOut(ILogger logger, string keyName);
    }
}

using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Access;

/// <summary>
/// Authenticates a request by its <c>X-Api-Key</c> header; without one, lets a keyless caller in when configuration
/// says so (<c>local</c> over loopback, or <c>anonymous</c>). Answers challenges (401) and refusals (403) for every
/// scheme, as problem details that never repeat what was presented.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyRing keys,
    AccessMode mode,
    AccessRefusalLog refusals,
    FailedKeyAttempts failedAttempts) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    public const string HeaderName = "X-Api-Key";

    /// <summary>Headers that a reverse proxy adds: a request carrying one did not come from this machine's user.</summary>
    private static readonly string[] ProxyHeaders = ["X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-IP", "Via"];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Request.Headers.TryGetValue(HeaderName, out var presented))
        {
            if (presented is [{ Length: > 0 } value] && keys.Match(value) is { } key)
            {
                return Task.FromResult(Success(Callers.ForKey(key, Callers.ByKeyHeader)));
            }

            failedAttempts.Failed(Context.Connection.RemoteIpAddress);
            refusals.KeyRefused(Context.Connection.RemoteIpAddress);
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        return Task.FromResult(mode.Kind switch
        {
            AccessKind.Anonymous => Success(Callers.Keyless(Callers.AnonymousName, Callers.ByAnonymousAccess)),
            AccessKind.Local when IsLocal(Context) => Success(Callers.Keyless(Callers.LocalName, Callers.ByLoopback)),
            _ => AuthenticateResult.NoResult(),
        });
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var detail = mode.Kind == AccessKind.Local
            ? "Without API keys only this machine is served, directly over loopback (not through a proxy)."
            : $"Send an API key (header {HeaderName}) or sign in (POST /api/auth/sign-in).";
        await Results.Problem(detail, statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var role = Context.User.FindFirst(Callers.RoleClaim)?.Value ?? "none";
        await Results.Problem($"The key's role ({role}) does not allow this.", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(Context);
    }

    /// <summary>
    /// Both ends of the connection on loopback and no proxy's headers. A missing address (a Unix socket, a test host)
    /// is never local.
    /// </summary>
    private static bool IsLocal(HttpContext context) =>
        ListeningAddresses.IsLoopback(context.Connection.RemoteIpAddress)
        && ListeningAddresses.IsLoopback(context.Connection.LocalIpAddress)
        && !ProxyHeaders.Any(context.Request.Headers.ContainsKey);

    private AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
}

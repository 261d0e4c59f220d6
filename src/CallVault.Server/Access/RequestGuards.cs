using Microsoft.AspNetCore.Authorization;

namespace CallVault.Server.Access;

/// <summary>Marks an endpoint whose state change needs the <c>X-CallVault-Request</c> header even without a policy.</summary>
internal sealed class StateChangeMetadata;

/// <summary>
/// Against DNS rebinding: a request whose <c>Host</c> is not one the service answers to gets 421 before anything else
/// runs. The health probes are exempt (orchestrators probe by address), but answer such a host only the status.
/// </summary>
internal sealed class AllowedHostsMiddleware(RequestDelegate next, AccessMode mode, AccessRefusalLog refusals)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (mode.IsHostAllowed(context.Request.Host) || context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        refusals.HostRefused(context.Connection.RemoteIpAddress);
        await Results.Problem(
            "This service does not answer to that host name. An operator can add it to CallVault:Api:AllowedHosts.",
            statusCode: StatusCodes.Status421MisdirectedRequest).ExecuteAsync(context);
    }
}

/// <summary>
/// Against cross-site request forgery: a state change (POST, PUT, PATCH, DELETE) to a protected endpoint, made by a
/// caller whom the browser could have authenticated on its own (the session cookie, or keyless access), must carry
/// <c>X-CallVault-Request: 1</c>. A cross-site form cannot set a header, and with no CORS a script on another origin
/// cannot either. A request with <c>X-Api-Key</c> needs no such header: a browser never adds that one by itself.
/// </summary>
internal sealed class StateChangeGuardMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-CallVault-Request";

    public async Task InvokeAsync(HttpContext context)
    {
        if (Refusal(context) is { } refusal)
        {
            await refusal.ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    /// <summary>Null when the request may go on.</summary>
    public static IResult? Refusal(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method))
        {
            return null;
        }

        var metadata = context.GetEndpoint()?.Metadata;
        if (metadata is null || (metadata.GetMetadata<IAuthorizeData>() is null && metadata.GetMetadata<StateChangeMetadata>() is null))
        {
            return null;
        }

        return RefusalFor(context);
    }

    /// <summary>The check itself, for an endpoint known to be protected.</summary>
    public static IResult? RefusalFor(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method))
        {
            return null;
        }

        var identity = context.User.Identity;
        if (identity is not { IsAuthenticated: true } || identity.AuthenticationType == Callers.ByKeyHeader)
        {
            // Unauthenticated callers are refused by authorization; a key in a header proves intent.
            return null;
        }

        return context.Request.Headers[HeaderName] is [ "1" ]
            ? null
            : Results.Problem(
                $"A state change made with the dashboard's session or without a key needs the header {HeaderName}: 1.",
                statusCode: StatusCodes.Status403Forbidden);
    }
}

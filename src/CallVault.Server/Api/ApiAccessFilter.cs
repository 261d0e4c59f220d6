using CallVault.Server.Access;
using Microsoft.AspNetCore.Authorization;

namespace CallVault.Server.Api;

/// <summary>
/// For endpoints not yet given a policy: reads need <see cref="AccessPolicies.Reader"/>, state changes
/// <see cref="AccessPolicies.Operator"/> and the <c>X-CallVault-Request</c> header when made without a key header.
/// New endpoints should call <c>RequireAuthorization(AccessPolicies.…)</c> instead.
/// </summary>
internal sealed class ApiAccessFilter(IAuthorizationService authorization) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var method = http.Request.Method;
        var policy = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? AccessPolicies.Reader : AccessPolicies.Operator;
        if (http.User.Identity is not { IsAuthenticated: true })
        {
            return Results.Challenge();
        }

        if (!(await authorization.AuthorizeAsync(http.User, policy)).Succeeded)
        {
            return Results.Forbid();
        }

        return StateChangeGuardMiddleware.RefusalFor(http) ?? await next(context);
    }
}

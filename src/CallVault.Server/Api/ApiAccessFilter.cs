using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Api;

/// <summary>
/// Guards the read API, the dashboard and <c>/metrics</c>: a configured key is required when there are keys; without
/// keys only requests from this machine pass, unless anonymous access was allowed explicitly.
/// </summary>
internal sealed class ApiAccessFilter(IOptionsMonitor<CallVaultOptions> options) : IEndpointFilter
{
    public const string HeaderName = "X-Api-Key";
    public const string QueryName = "api-key";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        return Allowed(context.HttpContext, options.CurrentValue.Api) is { } refusal ? refusal : await next(context);
    }

    /// <summary>Null when the request may proceed; otherwise the answer to give.</summary>
    public static IResult? Allowed(HttpContext context, ApiOptions api)
    {
        if (api.Keys.Count > 0)
        {
            var presented = context.Request.Headers[HeaderName].FirstOrDefault() ?? context.Request.Query[QueryName].FirstOrDefault();
            var matched = false;
            foreach (var key in api.Keys)
            {
                matched |= presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(presented));
            }

            return matched ? null : Results.Problem($"An API key is required (header {HeaderName}).", statusCode: StatusCodes.Status401Unauthorized);
        }

        var remote = context.Connection.RemoteIpAddress;
        return api.AllowAnonymous || remote is null || IPAddress.IsLoopback(remote)
            ? null
            : Results.Problem("No API keys are configured, so the API answers only this machine. Set CallVault:Api:Keys:0.", statusCode: StatusCodes.Status403Forbidden);
    }
}

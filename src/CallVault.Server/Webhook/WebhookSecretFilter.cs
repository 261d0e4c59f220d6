using CallVault.Events;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Webhook;

/// <summary>
/// The webhook's secret check, on the whole <c>/api/events</c> webhook group: a request without an accepted secret
/// (query parameter or header) is answered 401 before any handler runs.
/// </summary>
/// <remarks>Refusals are logged at a bounded rate by <see cref="WebhookAuthFailureLog"/>: anyone can send them.</remarks>
internal sealed class WebhookSecretFilter(WebhookIntake intake, IOptionsMonitor<CallVaultOptions> options, WebhookAuthFailureLog authFailures) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var request = context.HttpContext.Request;
        var webhook = options.CurrentValue.Webhook;
        if (intake.IsAuthenticated(request.Query[webhook.SecretQueryParameter].FirstOrDefault(), request.Headers[webhook.SecretHeader].FirstOrDefault()))
        {
            return await next(context);
        }

        authFailures.Refused(context.HttpContext.Connection.RemoteIpAddress);
        return TypedResults.Problem("The webhook secret is missing or wrong.", statusCode: StatusCodes.Status401Unauthorized);
    }
}

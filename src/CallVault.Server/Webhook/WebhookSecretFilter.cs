using CallVault.Events;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Webhook;

/// <summary>
/// The webhook's secret check, on the whole <c>/api/events</c> webhook group: a request without an accepted secret
/// (query parameter or header) is answered 401 before any handler runs.
/// </summary>
internal sealed partial class WebhookSecretFilter(WebhookIntake intake, IOptionsMonitor<CallVaultOptions> options, ILogger<WebhookSecretFilter> logger) : IEndpointFilter
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

        Log.Unauthorized(logger, context.HttpContext.Connection.RemoteIpAddress?.ToString());
        return TypedResults.Problem("The webhook secret is missing or wrong.", statusCode: StatusCodes.Status401Unauthorized);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a webhook delivery without a valid secret from {RemoteAddress}")]
        public static partial void Unauthorized(ILogger logger, string? remoteAddress);
    }
}

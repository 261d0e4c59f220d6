using System.Net;
using CallVault.Diagnostics;
using CallVault.Server.Access;

namespace CallVault.Server.Webhook;

/// <summary>
/// Logs refused webhook deliveries (no secret, a wrong one) at a bounded rate: the first refusal in an interval is
/// logged at once, the others are only counted, and the next line logged says how many were left out. Anyone who can
/// reach the webhook can send refusals, and a line for each would let them fill the disk and bury the log. The
/// total is also counted by the metric <c>callvault.webhook.unauthorized</c>, which nothing suppresses.
/// </summary>
internal sealed partial class WebhookAuthFailureLog(ILoggerFactory loggers, CallVaultMetrics metrics, TimeProvider timeProvider)
{
    /// <summary>At most one line per interval: 1 minute.</summary>
    public static readonly TimeSpan Interval = LogThrottle.Interval;

    private readonly ILogger _logger = loggers.CreateLogger("CallVault.Webhook");
    private readonly LogThrottle _throttle = new(timeProvider);

    /// <summary>Counts one refused delivery and logs it unless a line was already logged within the interval.</summary>
    /// <param name="remoteAddress">Where the delivery came from, as the connection says.</param>
    public void Refused(IPAddress? remoteAddress)
    {
        metrics.WebhookUnauthorized.Add(1);
        if (!_throttle.TryEnter(out var suppressed))
        {
            return;
        }

        Log.Unauthorized(_logger, remoteAddress?.ToString(), suppressed, Interval.TotalSeconds);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a webhook delivery without a valid secret from {RemoteAddress}; {Suppressed} other refusal(s) since the last such line were not logged (at most one line every {IntervalSeconds} s)")]
        public static partial void Unauthorized(ILogger logger, string? remoteAddress, long suppressed, double intervalSeconds);
    }
}

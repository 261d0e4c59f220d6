namespace CallVault.Server.Access;

/// <summary>
/// Lets one log line through per <see cref="Interval"/> and counts the ones held back, so that the next line can say
/// how many were left out. For events anyone on the network can cause (refused keys, host names, callbacks, webhook
/// deliveries): a line for each would let them fill the disk and bury the log.
/// </summary>
internal sealed class LogThrottle(TimeProvider timeProvider)
{
    /// <summary>At most one line per interval: 1 minute.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private long? _lastLoggedAt;
    private long _suppressed;

    /// <summary>Whether to log this event now; if so, <paramref name="suppressed"/> is how many were held back since the last line.</summary>
    public bool TryEnter(out long suppressed)
    {
        lock (_lock)
        {
            if (_lastLoggedAt is { } last && timeProvider.GetElapsedTime(last) < Interval)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = _suppressed;
            _suppressed = 0;
            _lastLoggedAt = timeProvider.GetTimestamp();
            return true;
        }
    }
}

/// <summary>
/// Refusals anyone can cause, logged at a bounded rate (see <see cref="LogThrottle"/>): an unknown <c>X-Api-Key</c>,
/// a host name the service does not answer to, an unauthenticated recording callback. Each kind has its own budget,
/// so a flood of one does not hide the others.
/// </summary>
internal sealed partial class AccessRefusalLog(ILoggerFactory loggers, TimeProvider timeProvider)
{
    private readonly ILogger _access = loggers.CreateLogger("CallVault.Access");
    private readonly ILogger _sessions = loggers.CreateLogger("CallVault.Callbacks");
    private readonly LogThrottle _keys = new(timeProvider);
    private readonly LogThrottle _hosts = new(timeProvider);
    private readonly LogThrottle _callbacks = new(timeProvider);

    public void KeyRefused(System.Net.IPAddress? remoteAddress)
    {
        if (_keys.TryEnter(out var suppressed))
        {
            Log.KeyRefused(_access, remoteAddress?.ToString(), suppressed, LogThrottle.Interval.TotalSeconds);
        }
    }

    public void HostRefused(System.Net.IPAddress? remoteAddress)
    {
        if (_hosts.TryEnter(out var suppressed))
        {
            Log.HostRefused(_access, remoteAddress?.ToString(), suppressed, LogThrottle.Interval.TotalSeconds);
        }
    }

    public void CallbackRefused(System.Net.IPAddress? remoteAddress)
    {
        if (_callbacks.TryEnter(out var suppressed))
        {
            Log.CallbackRefused(_sessions, remoteAddress?.ToString(), suppressed, LogThrottle.Interval.TotalSeconds);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Refused a request with an unknown API key from {RemoteAddress}; {Suppressed} other such refusal(s) since the last such line were not logged (at most one line every {IntervalSeconds} s)")]
        public static partial void KeyRefused(ILogger logger, string? remoteAddress, long suppressed, double intervalSeconds);

        [LoggerMessage(2, LogLevel.Information, "Refused a request for a host name this service does not answer to, from {RemoteAddress}; {Suppressed} other such refusal(s) since the last such line were not logged (at most one line every {IntervalSeconds} s)")]
        public static partial void HostRefused(ILogger logger, string? remoteAddress, long suppressed, double intervalSeconds);

        [LoggerMessage(3, LogLevel.Warning, "Refused a Call Automation callback without a valid token or secret from {RemoteAddress}; {Suppressed} other such refusal(s) since the last such line were not logged (at most one line every {IntervalSeconds} s)")]
        public static partial void CallbackRefused(ILogger logger, string? remoteAddress, long suppressed, double intervalSeconds);
    }
}

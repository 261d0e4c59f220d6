using System.ComponentModel.DataAnnotations;

namespace CallVault.Acs;

/// <summary>
/// Retries of a request or of the rest of a download after a transient failure: a network error, a stall, a truncated
/// or empty body, or status 408, 429, 500, 502, 503 or 504. Exponential back-off with jitter; a <c>Retry-After</c>
/// from the service is honoured when it asks for longer.
/// </summary>
public sealed class AcsRetryOptions
{
    /// <summary>Retries after the first attempt. Default 8; 0 to 100.</summary>
    [Range(0, 100)]
    public int MaxRetryAttempts { get; set; } = 8;

    /// <summary>Delay before the first retry, doubled each time. Default 1 second; 0 to 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two attempts, <c>Retry-After</c> included. Default 60 seconds; 0 to 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);
}

namespace CallVault.Acs.CallAutomation;

/// <summary>
/// A Call Automation request failed: ACS answered with an error (<see cref="StatusCode"/> and, from its
/// <c>{"error":{"code","message"}}</c> body, <see cref="ErrorCode"/>), or gave no answer at all after every retry
/// (<see cref="StatusCode"/> 0). The message says what happened in the caller's terms and never contains a credential.
/// </summary>
public sealed class CallAutomationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CallAutomationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CallAutomationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public CallAutomationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer from ACS, or for none (<paramref name="statusCode"/> 0).</summary>
    /// <param name="message">What happened, for a person.</param>
    /// <param name="statusCode">The HTTP status, or 0 when no answer came.</param>
    /// <param name="errorCode">ACS's <c>error.code</c>, when it sent one.</param>
    /// <param name="innerException">The failure behind a missing answer, if any.</param>
    public CallAutomationException(string message, int statusCode, string? errorCode, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    /// <summary>The HTTP status ACS answered with; 0 when no answer came (network failure or timeout).</summary>
    public int StatusCode { get; }

    /// <summary>ACS's <c>error.code</c>, when the answer had one.</summary>
    public string? ErrorCode { get; }

    /// <summary>How long ACS asked to wait before trying again (<c>Retry-After</c>), when it did.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Whether another attempt may succeed: no answer, or 408, 429, 500, 502, 503, 504.</summary>
    public bool IsTransient => StatusCode == 0 || Errors.AcsRequestException.IsTransientStatus(StatusCode);
}

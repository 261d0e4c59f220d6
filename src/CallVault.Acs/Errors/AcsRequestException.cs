using System.Net;

namespace CallVault.Acs.Errors;

/// <summary>
/// ACS answered with an unexpected status. Carries what a caller branches on (<see cref="Status"/>,
/// <see cref="IsTransient"/>, <see cref="RetryAfter"/>) and what a person needs to look into it (the service's error
/// text and request ids). The message says what to check.
/// </summary>
public sealed class AcsRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AcsRequestException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AcsRequestException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public AcsRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal AcsRequestException(AcsErrorResponse error)
        : base(error.ToMessage())
    {
        Status = error.Status;
        Method = error.Method;
        Location = error.Location;
        ServiceMessage = error.ServiceMessage;
        ResponseBody = error.Body;
        ResponseContentType = error.ContentType;
        RequestId = error.RequestId;
        RetryAfter = error.RetryAfter;
    }

    private AcsRequestException(AcsRequestException source, string message)
        : base(message, source)
    {
        Status = source.Status;
        Method = source.Method;
        Location = source.Location;
        ServiceMessage = source.ServiceMessage;
        ResponseBody = source.ResponseBody;
        ResponseContentType = source.ResponseContentType;
        RequestId = source.RequestId;
        RetryAfter = source.RetryAfter;
    }

    /// <summary>
    /// The same failure (same status and service details, so callers branch on it alike) with <paramref name="note"/>
    /// added to the message: what the failure means for the caller's own state.
    /// </summary>
    public AcsRequestException WithNote(string note) => new(this, $"{Message} {note}");

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }

    /// <summary>The request method.</summary>
    public string? Method { get; }

    /// <summary>The requested URL without its query string.</summary>
    public string? Location { get; }

    /// <summary>The service's own explanation, from a JSON <c>message</c>/<c>title</c> or an HTML title; may be null.</summary>
    public string? ServiceMessage { get; }

    /// <summary>The start of the response body (at most 4 KiB of text), JSON or HTML.</summary>
    public string? ResponseBody { get; }

    /// <summary>The response's content type.</summary>
    public string? ResponseContentType { get; }

    /// <summary>Request or trace ids the service returned, for a support ticket; may be null.</summary>
    public string? RequestId { get; }

    /// <summary>How long the service asked to wait (<c>Retry-After</c>), when it did.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Whether trying again later may succeed: 408, 429, 500, 502, 503 and 504.</summary>
    public bool IsTransient => IsTransientStatus(Status);

    /// <summary>Whether a status is worth retrying.</summary>
    public static bool IsTransientStatus(int status) => status is (int)HttpStatusCode.RequestTimeout
        or (int)HttpStatusCode.TooManyRequests
        or (int)HttpStatusCode.InternalServerError
        or (int)HttpStatusCode.BadGateway
        or (int)HttpStatusCode.ServiceUnavailable
        or (int)HttpStatusCode.GatewayTimeout;
}

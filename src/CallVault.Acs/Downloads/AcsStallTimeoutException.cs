namespace CallVault.Acs.Downloads;

/// <summary>No response headers or body bytes arrived within <see cref="AcsDownloadOptions.StallTimeout"/>. Transient.</summary>
public sealed class AcsStallTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public AcsStallTimeoutException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AcsStallTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public AcsStallTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

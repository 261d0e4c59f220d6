namespace CallVault.Acs.Downloads;

/// <summary>What was wrong with a response body.</summary>
public enum AcsContentProblem
{
    /// <summary>The body ended before the size the service announced. Transient: the rest is fetched again.</summary>
    Truncated,

    /// <summary>The body was empty where a recording cannot be. Transient.</summary>
    Empty,

    /// <summary>The object's size or ETag changed during the download, or a range request was answered with the whole object.</summary>
    Changed,

    /// <summary>A 206 response did not describe the range that was asked for.</summary>
    InvalidContentRange,

    /// <summary>
    /// The service never said the object's size (a chunked <c>200</c> without Content-Length, ranges ignored or
    /// answered with <c>bytes a-b/*</c>), so the end of the bytes received cannot be told from a truncation. Not
    /// transient for this download; the download is not reported complete.
    /// </summary>
    UnknownLength,
}

/// <summary>A response body cannot be trusted as the object's bytes.</summary>
public sealed class AcsContentException : IOException
{
    /// <summary>Creates the exception.</summary>
    public AcsContentException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AcsContentException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public AcsContentException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a problem.</summary>
    public AcsContentException(AcsContentProblem problem, string message)
        : base(message)
    {
        Problem = problem;
    }

    /// <summary>What was wrong.</summary>
    public AcsContentProblem Problem { get; }

    /// <summary>Whether fetching again may succeed.</summary>
    public bool IsTransient => Problem is AcsContentProblem.Truncated or AcsContentProblem.Empty;
}

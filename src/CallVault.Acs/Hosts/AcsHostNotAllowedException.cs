namespace CallVault.Acs.Hosts;

/// <summary>A signed request was refused before it was sent, because its host is not on the allow-list.</summary>
public sealed class AcsHostNotAllowedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AcsHostNotAllowedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AcsHostNotAllowedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public AcsHostNotAllowedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a refused URL.</summary>
    public AcsHostNotAllowedException(Uri uri, string reason)
        : base($"Refused to send ACS credentials to {Describe(uri)}: {reason}.")
    {
        Uri = uri;
    }

    /// <summary>Creates the exception for a redirect that was not followed.</summary>
    /// <param name="from">The URL that answered with the redirect.</param>
    /// <param name="target">Where the redirect pointed.</param>
    /// <param name="reason">Why it was not followed.</param>
    public AcsHostNotAllowedException(Uri from, Uri target, string reason)
        : base($"Refused to follow a redirect from {Describe(from)} to {Describe(target)}: {reason}.")
    {
        ArgumentNullException.ThrowIfNull(target);
        Uri = target;
    }

    /// <summary>The refused URL.</summary>
    public Uri? Uri { get; }

    // Without the query: a redirect's query may hold a storage token.
    private static string Describe(Uri uri) => uri.IsAbsoluteUri ? $"{uri.Scheme}://{uri.Authority}{uri.AbsolutePath}" : uri.OriginalString;
}

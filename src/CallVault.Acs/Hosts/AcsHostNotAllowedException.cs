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

    /// <summary>The refused URL.</summary>
    public Uri? Uri { get; }

    private static string Describe(Uri uri) => uri.IsAbsoluteUri ? $"{uri.Scheme}://{uri.Authority}{uri.AbsolutePath}" : uri.OriginalString;
}

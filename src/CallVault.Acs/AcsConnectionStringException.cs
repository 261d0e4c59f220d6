namespace CallVault.Acs;

/// <summary>An ACS connection string is missing a part or has a malformed one. The message never contains the access key.</summary>
public sealed class AcsConnectionStringException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public AcsConnectionStringException()
    {
    }

    /// <summary>Creates the exception with a message that names the faulty part.</summary>
    public AcsConnectionStringException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public AcsConnectionStringException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

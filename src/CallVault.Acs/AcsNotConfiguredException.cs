namespace CallVault.Acs;

/// <summary>A signed request was attempted but no ACS connection string is configured.</summary>
public sealed class AcsNotConfiguredException : InvalidOperationException
{
    /// <summary>Creates the exception with the standard message.</summary>
    public AcsNotConfiguredException()
        : base("No ACS connection string is configured. Set CallVault:Acs:ConnectionString (environment variable CallVault__Acs__ConnectionString) or pass --connection-string.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AcsNotConfiguredException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public AcsNotConfiguredException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

namespace CallVault.Emulator.Recordings;

/// <summary>An admin request that cannot be carried out; answered with 400 and the message.</summary>
public sealed class EmulatorRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EmulatorRequestException()
    {
    }

    /// <summary>Creates the exception with a message for the caller.</summary>
    public EmulatorRequestException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public EmulatorRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

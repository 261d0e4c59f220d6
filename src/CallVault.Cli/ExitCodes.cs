namespace CallVault.Cli;

/// <summary>Process exit codes of <c>callvault</c>.</summary>
internal static class ExitCodes
{
    /// <summary>Everything asked for was done.</summary>
    public const int Success = 0;

    /// <summary>The operation was attempted and failed (a download error, a refused request).</summary>
    public const int Failure = 1;

    /// <summary>The command line or configuration is wrong; nothing was attempted.</summary>
    public const int UsageError = 2;

    /// <summary>Stopped by Ctrl+C; what was downloaded is kept for resuming.</summary>
    public const int Cancelled = 130;
}

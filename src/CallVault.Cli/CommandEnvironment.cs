namespace CallVault.Cli;

/// <summary>
/// What a command reads from its process: the current folder (where relative and default output paths go) and
/// environment variables. Passed in, so that tests run commands side by side without changing process-wide state.
/// </summary>
/// <param name="CurrentDirectory">The absolute folder relative paths are resolved against.</param>
/// <param name="GetVariable">Looks up an environment variable; null when it is not set.</param>
internal sealed record CommandEnvironment(string CurrentDirectory, Func<string, string?> GetVariable)
{
    /// <summary>The real process's current folder and environment, read at the moment of the call.</summary>
    public static CommandEnvironment OfProcess() => new(Environment.CurrentDirectory, Environment.GetEnvironmentVariable);
}

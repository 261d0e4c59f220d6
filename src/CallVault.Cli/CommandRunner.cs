using System.CommandLine;

namespace CallVault.Cli;

/// <summary>Parses, reports usage errors with <see cref="ExitCodes.UsageError"/>, and invokes the chosen command.</summary>
internal static class CommandRunner
{
    public static async Task<int> RunAsync(Command root, string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var parseError in parsed.Errors)
            {
                await configuration.Error.WriteLineAsync($"error: {parseError.Message}");
            }

            await configuration.Error.WriteLineAsync("Run 'callvault --help' for usage.");
            return ExitCodes.UsageError;
        }

        return await parsed.InvokeAsync(configuration);
    }
}

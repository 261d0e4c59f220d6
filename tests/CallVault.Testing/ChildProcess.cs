using System.ComponentModel;
using System.Diagnostics;

namespace CallVault.Testing;

/// <summary>What a finished child process printed and how it ended.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="Output">Everything written to standard output.</param>
/// <param name="Error">Everything written to standard error.</param>
public sealed record ChildProcessResult(int ExitCode, string Output, string Error);

/// <summary>Runs a program to its end for a test, reading standard output and standard error at the same time.</summary>
/// <remarks>Reading one stream to its end before the other deadlocks as soon as the child fills the pipe of the
/// stream not being read (64 KiB on Linux): the child blocks on its write and never closes the first stream.</remarks>
public static class ChildProcess
{
    /// <summary>Starts <paramref name="start"/>, writes <paramref name="input"/> to its standard input (then closes
    /// it), and waits for it to exit.</summary>
    /// <param name="start">What to run; its redirection settings are set here.</param>
    /// <param name="input">Text for standard input, or null for none (standard input is closed at once).</param>
    /// <param name="timeout">How long the process may run before it is killed and the call fails.</param>
    /// <exception cref="FileNotFoundException">The program could not be started (typically not on PATH).</exception>
    /// <exception cref="TimeoutException">The process ran longer than <paramref name="timeout"/>; it was killed.</exception>
    public static async Task<ChildProcessResult> RunAsync(ProcessStartInfo start, string? input, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new FileNotFoundException($"'{start.FileName}' did not start.", start.FileName);
        }
        catch (Win32Exception error)
        {
            throw new FileNotFoundException($"'{start.FileName}' could not be started: {error.Message}. Is it installed and on PATH?", start.FileName, error);
        }

        using (process)
        {
            using var deadline = new CancellationTokenSource(timeout);
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var error = process.StandardError.ReadToEndAsync(deadline.Token);
            try
            {
                try
                {
                    if (input is not null)
                    {
                        await process.StandardInput.WriteAsync(input.AsMemory(), deadline.Token);
                    }

                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // The child exited without reading its input; its exit code and standard error say why.
                }

                await process.WaitForExitAsync(deadline.Token);
                return new ChildProcessResult(process.ExitCode, await output, await error);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"'{start.FileName}' did not finish within {timeout}; it was killed.");
            }
        }
    }
}

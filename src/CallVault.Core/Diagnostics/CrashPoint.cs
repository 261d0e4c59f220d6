using System.Diagnostics;
using System.Globalization;

namespace CallVault.Diagnostics;

/// <summary>
/// Named places where a crash test can kill the process, to prove that a crash at exactly that moment loses nothing.
/// Off unless the environment variable <see cref="VariableName"/> names a point, as <c>name</c> (the first time it is
/// reached) or <c>name@N</c> (the N-th time); several points are separated by commas. The process then kills itself
/// with SIGKILL, as a power cut or the OOM killer would: no <c>finally</c>, no flush, no graceful shutdown.
/// </summary>
/// <remarks>
/// Read once per process. Only tests that start the service as a child process set the variable; nothing in a test
/// process itself ever does, so in-process tests cannot trip a crash point.
/// </remarks>
public static class CrashPoint
{
    /// <summary>The environment variable that arms crash points: <c>CALLVAULT_CRASH_AT</c>.</summary>
    public const string VariableName = "CALLVAULT_CRASH_AT";

    private static readonly Dictionary<string, int> Armed = ParseArmed(Environment.GetEnvironmentVariable(VariableName));
    private static readonly Dictionary<string, int> Hits = new(StringComparer.Ordinal);

    /// <summary>Whether any crash point is armed in this process.</summary>
    public static bool Enabled => Armed.Count > 0;

    /// <summary>Kills the process here if this point is armed and reached for the armed time.</summary>
    /// <param name="name">The point, e.g. <c>webhook.commit</c>; lower case, dot-separated.</param>
    public static void Hit(string name)
    {
        if (Armed.Count == 0 || !Armed.TryGetValue(name, out var at))
        {
            return;
        }

        int count;
        lock (Hits)
        {
            count = Hits[name] = Hits.GetValueOrDefault(name) + 1;
        }

        if (count == at)
        {
            Console.Error.WriteLine($"CRASH POINT {name} (hit {count}): killing the process");
            Console.Error.Flush();
            using var self = Process.GetCurrentProcess();
            self.Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private static Dictionary<string, int> ParseArmed(string? value)
    {
        var armed = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = entry.IndexOf('@', StringComparison.Ordinal);
            if (at < 0)
            {
                armed[entry] = 1;
            }
            else if (int.TryParse(entry.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                armed[entry[..at]] = n;
            }
        }

        return armed;
    }
}

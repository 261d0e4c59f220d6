using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CallVault.Bench;

/// <summary>
/// A CallVault service running as its own process from the Release build, as a user would run it: started with
/// configuration in environment variables, killed with SIGKILL when a benchmark wants a crash, sampled through /proc.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly ProcessStartInfo _start;
    private Process _process;

    private ServiceProcess(ProcessStartInfo start, Uri baseAddress)
    {
        _start = start;
        BaseAddress = baseAddress;
        _process = Launch(start);
    }

    /// <summary>Where the service listens.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The process id of the running service.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Starts the service with <paramref name="settings"/> (configuration keys as environment variables) and waits until it is live.</summary>
    public static async Task<ServiceProcess> StartAsync(string dataFolder, IReadOnlyDictionary<string, string> settings, int? port = null)
    {
        var url = $"http://127.0.0.1:{port ?? FreePort()}";
        var start = new ProcessStartInfo("dotnet")
        {
            // CALLVAULT_BENCH_SERVER_DLL runs another build (e.g. a baseline worktree's) under the same benchmark, side by side.
            ArgumentList = { Environment.GetEnvironmentVariable("CALLVAULT_BENCH_SERVER_DLL") is { Length: > 0 } other ? other : Path.Combine(Repository.Root, "src", "CallVault.Server", "bin", "Release", "net10.0", "CallVault.Server.dll") },
            WorkingDirectory = dataFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["Urls"] = url;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["CallVault__DataDirectory"] = dataFolder;
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        var service = new ServiceProcess(start, new Uri(url));
        await service.WaitUntilLiveAsync();
        return service;
    }

    /// <summary>Kills the service with SIGKILL, as a power cut or the OOM killer would, and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>Starts the service again on the same data folder and port, and waits until it is live.</summary>
    public async Task RestartAsync()
    {
        _process = Launch(_start);
        await WaitUntilLiveAsync();
    }

    /// <summary>CPU time (user and system) the running service has used since it started.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Resident memory in bytes, open file descriptors and threads of the running service, from /proc.</summary>
    public (long RssBytes, int Handles, int Threads) Sample()
    {
        var status = File.ReadAllLines($"/proc/{_process.Id}/status");
        long Field(string name) => long.Parse(status.First(l => l.StartsWith(name, StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return (Field("VmRSS") * 1024, Directory.GetFileSystemEntries($"/proc/{_process.Id}/fd").Length, (int)Field("Threads"));
    }

    /// <summary>The highest resident memory of the running service since it started (VmHWM), in bytes, from /proc.</summary>
    public long PeakRssBytes()
    {
        var line = File.ReadAllLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private static Process Launch(ProcessStartInfo start)
    {
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine($"service: {line}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitUntilLiveAsync()
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the service exited with code {_process.ExitCode} while starting");
            }

            try
            {
                if ((await client.GetAsync("health/live")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the service did not become live within a minute");
    }

    /// <summary>A loopback port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The repository the benchmark runs from.</summary>
internal static class Repository
{
    /// <summary>The folder holding CallVault.slnx.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CallVault.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException("CallVault.slnx not found above the benchmark's folder");
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CallVault.Diagnostics;
using CallVault.Testing;

namespace CallVault.Server.Tests;

/// <summary>
/// The service as its own process on a fixed data folder and port, so that it can be killed (by a crash point or by the
/// test) and started again where it was. Keeps what the process wrote to stderr, to show which crash point fired.
/// </summary>
public sealed class ServiceChildProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _settings;
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly ConcurrentQueue<string> _stdout = new();
    private Process? _process;

    public ServiceChildProcess(Dictionary<string, string?> settings)
    {
        _settings = settings;
        BaseAddress = new Uri($"http://127.0.0.1:{FreePort()}/");
        _settings["Urls"] = BaseAddress.AbsoluteUri;
    }

    public Uri BaseAddress { get; }

    /// <summary>The running process's id.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("not running");

    /// <summary>What the current (or last) process wrote to stderr.</summary>
    public string StandardError => string.Join('\n', _stderr);

    /// <summary>What the current (or last) process wrote to stdout (its console log), line by line.</summary>
    public IReadOnlyList<string> StandardOutputLines => [.. _stdout];

    /// <summary>
    /// Starts the service, with <paramref name="crashAt"/> armed (see <see cref="CrashPoint"/>) when given, and waits
    /// until it answers <c>/health/live</c> (unless <paramref name="waitUntilLive"/> is false: a crash point that fires
    /// during start-up, before the service listens, is then waited for with <see cref="WaitForCrashAsync"/>).
    /// </summary>
    public async Task StartAsync(string? crashAt = null, TimeSpan? timeout = null, bool waitUntilLive = true)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.BuiltAssembly("CallVault.Server") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _settings["CallVault:DataDirectory"]!,
        };
        foreach (var (key, value) in _settings.Where(pair => pair.Value is not null))
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        if (crashAt is not null)
        {
            start.Environment[CrashPoint.VariableName] = crashAt;
        }

        _stderr.Clear();
        _stdout.Clear();
        _process?.Dispose();
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _stdout.Enqueue(line);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _stderr.Enqueue(line);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!waitUntilLive)
        {
            return;
        }

        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (!await IsLiveAsync(client))
        {
            Assert.False(_process.HasExited, $"The service exited while starting: {StandardError}");
            Assert.True(deadline.Elapsed < (timeout ?? TimeSpan.FromSeconds(60)), "The service did not start.");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the process has been killed by the crash point <paramref name="name"/>; fails clearly otherwise.</summary>
    public async Task WaitForCrashAsync(string name, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process!.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Assert.Fail($"The service was not killed at crash point '{name}' within {timeout.TotalSeconds:0} s. stderr: {StandardError}");
        }

        Assert.Contains($"CRASH POINT {name}", StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// Stops the service as an orchestrator does (SIGTERM), waits until it has exited and until everything it wrote to
    /// stdout and stderr has been read, so that the output is complete.
    /// </summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("not running");
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-s", "TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!)
        {
            await kill.WaitForExitAsync();
        }

        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);

        // The parameterless wait also waits for the redirected streams to reach their end.
        process.WaitForExit();
    }

    /// <summary>Kills the service with SIGKILL and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }

    private static async Task<bool> IsLiveAsync(HttpClient client)
    {
        try
        {
            using var response = await client.GetAsync("health/live");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

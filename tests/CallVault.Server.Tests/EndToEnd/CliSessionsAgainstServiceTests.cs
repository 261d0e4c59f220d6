using System.CommandLine;
using System.Text.Json;
using CallVault.Cli;
using CallVault.Cli.Commands;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary><c>callvault sessions</c> against a running service that controls the emulator's calls.</summary>
public sealed class CliSessionsAgainstServiceTests : IAsyncLifetime
{
    private CallAutomationSetup _stack = null!;

    public async Task InitializeAsync() => _stack = await CallAutomationSetup.StartAsync(TimeSpan.FromMinutes(30));

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new RootCommand { SessionsCommand.Create() };
        var exitCode = await CommandRunner.RunAsync(root, [.. args, "--server", _stack.Server.BaseAddress.AbsoluteUri], output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Start, pause, show, stop, list: each reaches Call Automation through the service, and a refused resume is one clear line.</summary>
    [Fact]
    public async Task StartPauseStop_ControlTheRecordingAndAStoppedOneCannotResume()
    {
        var (serverCallId, _) = await _stack.PlaceCallAsync(publishFiles: true, "8:acs:agent", "4:+14255550123");

        var (startCode, started, startError) = await RunAsync("sessions", "start", "--server-call-id", serverCallId, "--format", "wav", "--channel", "unmixed", "--json");
        Assert.True(startCode == 0, startError);
        var recordingId = JsonDocument.Parse(started).RootElement.GetProperty("recordingId").GetString()!;

        var (pauseCode, _, pauseError) = await RunAsync("sessions", "pause", recordingId);
        Assert.True(pauseCode == 0, pauseError);
        await _stack.WaitForSessionAsync(recordingId, s => s.GetProperty("state").GetString()!.Equals("paused", StringComparison.OrdinalIgnoreCase));
        var (showCode, shown, _) = await RunAsync("sessions", "show", recordingId);
        var (stopCode, _, stopError) = await RunAsync("sessions", "stop", recordingId);
        Assert.True(stopCode == 0, stopError);
        await _stack.WaitForSessionAsync(recordingId, s => s.GetProperty("state").GetString()!.Equals("stopped", StringComparison.OrdinalIgnoreCase));
        var (resumeCode, _, resumeError) = await RunAsync("sessions", "resume", recordingId);
        var (listCode, list, _) = await RunAsync("sessions", "list");

        Assert.Equal(0, showCode);
        Assert.Contains(serverCallId, shown, StringComparison.Ordinal);
        Assert.Contains(shown.Split('\n'), l => l.Contains("│ pause ", StringComparison.Ordinal) && l.Contains("Api", StringComparison.Ordinal));
        Assert.Equal(1, resumeCode);
        Assert.StartsWith("error: the service answered 4", resumeError, StringComparison.Ordinal);
        Assert.Equal(0, listCode);
        Assert.Contains(list.Split('\n'), l => l.Contains(recordingId, StringComparison.Ordinal) && l.Contains("stopped", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Start_UnknownCall_IsOneLineFromTheService()
    {
        var (exitCode, _, error) = await RunAsync("sessions", "start", "--server-call-id", "no-such-call");

        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: the service answered 4", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }
}

using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Cli;
using CallVault.Cli.Commands;
using CallVault.Emulator;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary><c>callvault hold set|clear|list</c> and <c>callvault delete</c> against a running service that stored a call.</summary>
public sealed class CliHoldAgainstServiceTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        var recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 2 })).Content.ReadFromJsonAsync<JsonElement>();
        _key = (await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!)).GetProperty("key").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new RootCommand { HoldCommand.Create(), DeleteCommand.Create() };
        var exitCode = await CommandRunner.RunAsync(root, [.. args, "--server", _server.BaseAddress.AbsoluteUri], output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task HoldSet_BlocksDelete_UntilHoldClear_ThenDeleteKeepsATombstone()
    {
        var (setCode, set, _) = await RunAsync("hold", "set", _key, "--reason", "litigation 2026-114");
        var (listCode, list, _) = await RunAsync("hold", "list", "--json");
        var (refusedCode, _, refused) = await RunAsync("delete", _key);

        Assert.Equal((0, 0, 1), (setCode, listCode, refusedCode));
        Assert.Contains("litigation 2026-114", set, StringComparison.Ordinal);
        Assert.Equal(_key, JsonDocument.Parse(list).RootElement[0].GetProperty("recordingKey").GetString());
        Assert.Contains("legal hold", refused, StringComparison.Ordinal);

        var (clearCode, clear, _) = await RunAsync("hold", "clear", _key);
        var (deleteCode, deleted, _) = await RunAsync("delete", _key, "--json");
        var (againCode, _, again) = await RunAsync("delete", _key);
        var (historyCode, history, _) = await RunAsync("hold", "list", "--all");

        Assert.Equal((0, 0, 1, 0), (clearCode, deleteCode, againCode, historyCode));
        Assert.Contains("no longer under legal hold", clear, StringComparison.Ordinal);
        var tombstone = JsonDocument.Parse(deleted).RootElement;
        Assert.Equal((_key, "manual:local"), (tombstone.GetProperty("recordingKey").GetString(), tombstone.GetProperty("rule").GetString()));
        Assert.Contains("410", again, StringComparison.Ordinal);
        Assert.Contains("litigation 2026-114", history, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HoldSet_WithoutReason_IsAUsageError_UnknownRecording_Fails()
    {
        var (noReason, _, _) = await RunAsync("hold", "set", _key);
        var (unknownCode, _, unknown) = await RunAsync("hold", "set", "no-such-recording", "--reason", "x");

        Assert.Equal(2, noReason);
        Assert.Equal(1, unknownCode);
        Assert.Contains("404", unknown, StringComparison.Ordinal);
    }
}

using System.Text.Json;
using CallVault.Cli.Commands;

namespace CallVault.Cli.Tests.Commands;

/// <summary><c>callvault sessions</c>: the requests it sends and what it prints, against a loopback stub of the session API.</summary>
public sealed class SessionsCommandTests : IAsyncLifetime
{
    /// <summary>An ACS-like recording id: base64, so it holds characters that must be escaped in a path.</summary>
    private const string RecordingId = "eyJQbGF0Zm9ybSI6InRlc3QifQ+/x=";
    private const string EscapedId = "eyJQbGF0Zm9ybSI6InRlc3QifQ%2B%2Fx%3D";

    /// <summary>A session as <c>GET /api/sessions/{id}</c> answers it.</summary>
    private const string ActiveSession = $$"""
        {"recordingId":"{{RecordingId}}","state":"Active","stateChangedAt":"2026-11-30T10:00:06+00:00","serverCallId":"server-call-1","groupCallId":null,
         "content":"audio","channel":"unmixed","format":"mp3","pauseOnStart":false,"participantOrdering":[],"channelAffinity":[],
         "externalStorageContainerUrl":null,"filesExpectedIn":"acs","origin":"Api","startedBy":"local",
         "createdAt":"2026-11-30T10:00:00+00:00","lastRequested":"Pause","stoppedAt":null,"detail":null,"filesMissing":false,"recording":null,
         "timeline":[
           {"at":"2026-11-30T10:00:00+00:00","receivedAt":"2026-11-30T10:00:00+00:00","source":"Api","event":"start","state":"Active","applied":true,"actor":"local","detail":null},
           {"at":"2026-11-30T10:00:05+00:00","receivedAt":"2026-11-30T10:00:05+00:00","source":"Api","event":"pause","state":"Paused","applied":true,"actor":"operator-alice","detail":null},
           {"at":"2026-11-30T10:00:04+00:00","receivedAt":"2026-11-30T10:00:07+00:00","source":"Callback","event":"active","state":"Active","applied":false,"actor":null,"detail":null}]}
        """;

    private const string MissingSession = """
        {"recordingId":"rec-missing","state":"Stopped","serverCallId":"server-call-2","groupCallId":null,
         "content":"audio","channel":"mixed","format":"wav","pauseOnStart":false,"startedBy":"local",
         "createdAt":"2026-11-30T09:00:00+00:00","stoppedAt":"2026-11-30T09:10:00+00:00","filesMissing":true,"recording":null,"timeline":null}
        """;

    private const string StoredSession = """
        {"recordingId":"rec-stored","state":"Stopped","serverCallId":"server-call-3","groupCallId":null,
         "content":"audio","channel":"mixed","format":"wav","pauseOnStart":false,"startedBy":"local",
         "createdAt":"2026-11-30T08:00:00+00:00","stoppedAt":"2026-11-30T08:10:00+00:00","filesMissing":false,
         "recording":{"key":"20261130-call-3-rec","arrivedAt":"2026-11-30T08:11:00+00:00","chunks":2,"storedChunks":2,"storedAt":"2026-11-30T08:11:30+00:00"},"timeline":null}
        """;

    private SessionsApiStub _stub = null!;

    public async Task InitializeAsync() => _stub = await SessionsApiStub.StartAsync();

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new System.CommandLine.RootCommand { SessionsCommand.Create() };
        var exitCode = await CommandRunner.RunAsync(root, [.. args, "--server", _stub.BaseAddress.AbsoluteUri], output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Start_SendsTheChosenOptionsAndPrintsTheRecordingId()
    {
        _stub.Answers["POST /api/sessions"] = (201, ActiveSession);

        var (exitCode, output, error) = await RunAsync(
            "sessions", "start", "--server-call-id", "server-call-1", "--format", "mp3", "--channel", "unmixed", "--content", "audio", "--pause-on-start", "--api-key", "k-123");

        Assert.True(exitCode == 0, error);
        var request = Assert.Single(_stub.Received);
        Assert.Equal(("POST", "/api/sessions", "k-123", "1"), (request.Method, request.RawPath, request.ApiKey, request.CallVaultRequest));
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("server-call-1", body.RootElement.GetProperty("serverCallId").GetString());
        Assert.Equal("mp3", body.RootElement.GetProperty("format").GetString());
        Assert.Equal("unmixed", body.RootElement.GetProperty("channel").GetString());
        Assert.Equal("audio", body.RootElement.GetProperty("content").GetString());
        Assert.True(body.RootElement.GetProperty("pauseOnStart").GetBoolean());
        Assert.False(body.RootElement.TryGetProperty("groupCallId", out _));
        Assert.Contains(RecordingId, output, StringComparison.Ordinal);
        Assert.Contains("Active", output, StringComparison.Ordinal);
    }

    /// <summary>Only what was given is sent: the service applies its own defaults to the rest.</summary>
    [Fact]
    public async Task Start_GroupCall_SendsOnlyTheGroupCallIdAndPrintsJson()
    {
        _stub.Answers["POST /api/sessions"] = (201, ActiveSession);

        var (exitCode, output, error) = await RunAsync("sessions", "start", "--group-call-id", "group-7", "--json");

        Assert.True(exitCode == 0, error);
        using var body = JsonDocument.Parse(Assert.Single(_stub.Received).Body);
        Assert.Equal(["groupCallId"], body.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(RecordingId, JsonDocument.Parse(output).RootElement.GetProperty("recordingId").GetString());
    }

    [Theory]
    [InlineData(new string[0], "--server-call-id or --group-call-id")]
    [InlineData(new[] { "--server-call-id", "a", "--group-call-id", "b" }, "not both")]
    [InlineData(new[] { "--server-call-id", "a", "--format", "ogg" }, "ogg")]
    [InlineData(new[] { "--server-call-id", "a", "--channel-affinity", "zero=8:acs:x" }, "CHANNEL=RAW-ID")]
    public async Task Start_BadArguments_AreAUsageErrorAndSendNothing(string[] arguments, string expected)
    {
        var (exitCode, _, error) = await RunAsync(["sessions", "start", .. arguments]);

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(_stub.Received);
    }

    [Fact]
    public async Task Start_OrderingAffinityAndExternalStorage_AreSentAsTheApiSpellsThem()
    {
        _stub.Answers["POST /api/sessions"] = (201, ActiveSession);

        var (exitCode, _, error) = await RunAsync(
            "sessions", "start", "--server-call-id", "s", "--channel", "unmixed",
            "--participant-ordering", "8:acs:agent", "--participant-ordering", "4:+14255550123",
            "--channel-affinity", "1=4:+14255550123", "--external-storage", "https://account.blob.core.windows.net/calls");

        Assert.True(exitCode == 0, error);
        using var body = JsonDocument.Parse(Assert.Single(_stub.Received).Body);
        Assert.Equal(["8:acs:agent", "4:+14255550123"], body.RootElement.GetProperty("participantOrdering").EnumerateArray().Select(e => e.GetString()));
        var affinity = Assert.Single(body.RootElement.GetProperty("channelAffinity").EnumerateArray());
        Assert.Equal((1, "4:+14255550123"), (affinity.GetProperty("channel").GetInt32(), affinity.GetProperty("participant").GetString()));
        Assert.Equal("https://account.blob.core.windows.net/calls", body.RootElement.GetProperty("externalStorageContainerUrl").GetString());
    }

    [Fact]
    public async Task List_ShowsEachSessionAndFlagsFilesMissing()
    {
        _stub.Answers["GET /api/sessions"] = (200, $"[{ActiveSession},{MissingSession},{StoredSession}]");

        var (exitCode, output, error) = await RunAsync("sessions", "list");

        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n');
        Assert.Contains(lines, l => l.Contains(RecordingId, StringComparison.Ordinal) && l.Contains("server-call-1", StringComparison.Ordinal) && l.Contains("Active", StringComparison.Ordinal) && l.Contains("not yet", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("rec-missing", StringComparison.Ordinal) && l.Contains("FILES MISSING", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("rec-stored", StringComparison.Ordinal) && l.Contains("stored (2/2 chunks)", StringComparison.Ordinal));
        Assert.Contains("1 session(s) have files missing", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_Json_IsTheServiceDocument()
    {
        _stub.Answers["GET /api/sessions"] = (200, $"[{ActiveSession}]");

        var (exitCode, output, _) = await RunAsync("sessions", "list", "--json");

        Assert.Equal(0, exitCode);
        Assert.Equal("server-call-1", JsonDocument.Parse(output).RootElement[0].GetProperty("serverCallId").GetString());
    }

    [Fact]
    public async Task Show_EscapesTheIdAndPrintsTheTimeline()
    {
        _stub.Answers[$"GET /api/sessions/{EscapedId}"] = (200, ActiveSession);

        var (exitCode, output, error) = await RunAsync("sessions", "show", RecordingId);

        Assert.True(exitCode == 0, error);
        Assert.Equal($"/api/sessions/{EscapedId}", Assert.Single(_stub.Received).RawPath);
        Assert.Contains("server-call-1", output, StringComparison.Ordinal);
        var lines = output.Split('\n');
        Assert.Contains(lines, l => l.Contains("pause", StringComparison.Ordinal) && l.Contains("Paused", StringComparison.Ordinal) && l.Contains("operator-alice", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("start", StringComparison.Ordinal) && l.Contains("local", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Callback", StringComparison.Ordinal) && l.Contains("late, not applied", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Show_StoredSession_NamesTheRecordingKey()
    {
        _stub.Answers["GET /api/sessions/rec-stored"] = (200, StoredSession);

        var (exitCode, output, error) = await RunAsync("sessions", "show", "rec-stored");

        Assert.True(exitCode == 0, error);
        Assert.Contains("files: stored (2/2 chunks) as 20261130-call-3-rec", output, StringComparison.Ordinal);
    }

    /// <summary>Real ids are long (a recording id ~170 characters, a server call id ~120): the recording id stays on one line of the list, so it can be copied whole.</summary>
    [Fact]
    public async Task List_RealLengthIds_KeepTheRecordingIdOnOneLine()
    {
        var longId = new string('A', 170);
        var session = StoredSession
            .Replace("rec-stored", longId, StringComparison.Ordinal)
            .Replace("server-call-3", new string('S', 120), StringComparison.Ordinal)
            .Replace("20261130-call-3-rec", new string('K', 70), StringComparison.Ordinal);
        _stub.Answers["GET /api/sessions"] = (200, $"[{session}]");

        var (exitCode, output, _) = await RunAsync("sessions", "list");

        Assert.Equal(0, exitCode);
        Assert.Contains(output.Split('\n'), l => l.Contains(longId, StringComparison.Ordinal) && l.Contains("stored (2/2 chunks)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("pause")]
    [InlineData("resume")]
    [InlineData("stop")]
    public async Task PauseResumeStop_PostToTheSessionsAction(string action)
    {
        _stub.Answers[$"POST /api/sessions/{EscapedId}/{action}"] = (202, ActiveSession);

        var (exitCode, output, error) = await RunAsync("sessions", action, RecordingId);

        Assert.True(exitCode == 0, error);
        var request = Assert.Single(_stub.Received);
        Assert.Equal(("POST", $"/api/sessions/{EscapedId}/{action}", "1"), (request.Method, request.RawPath, request.CallVaultRequest));
        Assert.Contains(RecordingId, output, StringComparison.Ordinal);
    }

    /// <summary>A refusal is one line with the status and the service's reason, and exit code 1.</summary>
    [Fact]
    public async Task Resume_RefusedByTheService_IsOneClearLine()
    {
        _stub.Answers["POST /api/sessions/rec-stopped/resume"] = (409, """{"title":"Conflict","status":409,"detail":"The recording was stopped; a stopped recording cannot be resumed."}""");

        var (exitCode, output, error) = await RunAsync("sessions", "resume", "rec-stopped");

        Assert.Equal(1, exitCode);
        Assert.Equal("error: the service answered 409 Conflict: The recording was stopped; a stopped recording cannot be resumed.", error.Trim());
        Assert.Empty(output);
    }

    [Fact]
    public async Task Show_UnknownSession_SaysNotFound()
    {
        var (exitCode, _, error) = await RunAsync("sessions", "show", "nope");

        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: the service answered 404 Not Found", error, StringComparison.Ordinal);
    }
}

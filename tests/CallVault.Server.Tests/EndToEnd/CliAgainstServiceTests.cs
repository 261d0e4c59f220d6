using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Cli;
using CallVault.Cli.Commands;
using CallVault.Emulator;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary><c>callvault recordings</c>, <c>jobs</c> and <c>verify</c> against a running service that stored a call.</summary>
public sealed class CliAgainstServiceTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private JsonElement _stored;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        var recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 6, chunkSizeLimitBytes = 70_000, participants = new[] { "8:acs:agent", "4:+14255550123" } })).Content.ReadFromJsonAsync<JsonElement>();
        _stored = await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
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
        var root = new RootCommand { RecordingsCommand.Create(), JobsCommand.Create(), VerifyCommand.Create(), AuditCommand.Create() };
        var exitCode = await CommandRunner.RunAsync(root, [.. args, "--server", _server.BaseAddress.AbsoluteUri], output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    private string Key => _stored.GetProperty("key").GetString()!;

    [Fact]
    public async Task RecordingsListAndShow_DescribeTheStoredCall()
    {
        var (listCode, list, _) = await RunAsync("recordings", "list", "--json");
        var (showCode, show, _) = await RunAsync("recordings", "show", Key);

        Assert.Equal((0, 0), (listCode, showCode));
        Assert.Equal(Key, JsonDocument.Parse(list).RootElement[0].GetProperty("key").GetString());
        Assert.Contains(_stored.GetProperty("chunks")[2].GetProperty("documentId").GetString()!, show, StringComparison.Ordinal);
        Assert.Contains("4:+14255550123", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordingsList_FiltersAndSorts()
    {
        var (code, found, _) = await RunAsync("recordings", "list", "--participant", "+14255550123", "--status", "stored", "--sort", "largest", "--json");
        var (noneCode, none, _) = await RunAsync("recordings", "list", "--participant", "+10000000000", "--json");
        var (badCode, _, badError) = await RunAsync("recordings", "list", "--status", "sideways");

        Assert.Equal((0, 0, 2), (code, noneCode, badCode));
        Assert.Equal(Key, JsonDocument.Parse(found).RootElement.EnumerateArray().Single().GetProperty("key").GetString());
        Assert.Equal(0, JsonDocument.Parse(none).RootElement.GetArrayLength());
        Assert.Contains("sideways", badError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobsListAndRetry_ReportTheQueue()
    {
        var (listCode, list, _) = await RunAsync("jobs", "list", "--json");
        var (storedCode, stored, _) = await RunAsync("jobs", "list", "--state", "Stored");
        var (retryCode, _, retryError) = await RunAsync("jobs", "retry", "0-eus-d1-not-dead-lettered");

        Assert.Equal((0, 0), (listCode, storedCode));
        Assert.Contains(_stored.GetProperty("chunks")[2].GetProperty("documentId").GetString()!, stored, StringComparison.Ordinal);
        Assert.Equal(3, JsonDocument.Parse(list).RootElement.GetProperty("byState").GetProperty("Stored").GetInt32());
        Assert.Equal(1, retryCode);
        Assert.StartsWith("error: the service answered 404", retryError, StringComparison.Ordinal);
    }

    /// <summary><c>jobs list</c> counts the events the webhook refused and shows the latest, as a table and in <c>--json</c>.</summary>
    [Fact]
    public async Task JobsList_ShowsRejectedEvents()
    {
        using var delivery = new StringContent("""[{"id": 5}, "not an event"]""", System.Text.Encoding.UTF8, "application/json");
        using var delivered = await _server.Client.PostAsync(_server.WebhookUrl, delivery);
        delivered.EnsureSuccessStatusCode();

        var (listCode, list, _) = await RunAsync("jobs", "list");
        var (jsonCode, json, _) = await RunAsync("jobs", "list", "--json");

        Assert.Equal((0, 0), (listCode, jsonCode));
        Assert.Contains("Rejected events: 2", list, StringComparison.Ordinal);
        Assert.Contains("An event must be a JSON object", list, StringComparison.Ordinal);
        var rejected = JsonDocument.Parse(json).RootElement.GetProperty("rejectedEvents");
        Assert.Equal(2, rejected.GetProperty("total").GetInt32());
        Assert.Contains(rejected.GetProperty("events").EnumerateArray(), e => e.GetProperty("reason").GetString()!.StartsWith("Not a readable Event Grid event", StringComparison.Ordinal));
        Assert.Equal(3, JsonDocument.Parse(json).RootElement.GetProperty("byState").GetProperty("Stored").GetInt32());
    }

    /// <summary>verify passes on what was stored, then reports the one chunk whose file was changed on disk.</summary>
    [Fact]
    public async Task Verify_FindsAChangedFile()
    {
        var (okCode, ok, _) = await RunAsync("verify");
        var path = Path.Combine(_server.RecordingsFolder, _stored.GetProperty("chunks")[1].GetProperty("media").GetProperty("path").GetString()!);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);

        var (badCode, bad, _) = await RunAsync("verify");

        Assert.Equal(0, okCode);
        Assert.Contains("Verified 3 stored chunk(s): every size and SHA-256 matches", ok, StringComparison.Ordinal);
        Assert.Equal(1, badCode);
        Assert.Contains($"DIFFERS  {Key} chunk 1 media", bad, StringComparison.Ordinal);
        Assert.Contains("1 difference(s)", bad, StringComparison.Ordinal);
    }

    /// <summary><c>audit</c> lists the chunk read just before, by recording and by caller, as a table and in <c>--json</c>; a caller who read nothing has no records.</summary>
    [Fact]
    public async Task Audit_ListsTheReadsWithTheirBytes()
    {
        var media = await _server.Client.GetByteArrayAsync($"api/recordings/{Uri.EscapeDataString(Key)}/chunks/1/media");
        JsonElement read = default;
        string json = string.Empty;
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (read.ValueKind == JsonValueKind.Undefined)
        {
            // The record is committed just after the answer's last byte: wait for it rather than race it.
            var (code, output, _) = await RunAsync("audit", "--recording", Key, "--json");
            Assert.Equal(0, code);
            json = output;
            read = JsonDocument.Parse(output).RootElement.GetProperty("records").EnumerateArray().FirstOrDefault(r => r.GetProperty("action").GetString() == "media.read");
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"no media.read record: {output}");
            await Task.Delay(read.ValueKind == JsonValueKind.Undefined ? 50 : 0);
        }

        var who = read.GetProperty("who").GetString()!;
        var (tableCode, table, _) = await RunAsync("audit", "--who", who, "--recording", Key, "--since", read.GetProperty("at").GetDateTimeOffset().ToString("O"));
        var (noneCode, none, _) = await RunAsync("audit", "--who", "nobody-at-all", "--json");
        var (badCode, _, badError) = await RunAsync("audit", "--take", "0");

        Assert.Equal((media.LongLength, 1L), (read.GetProperty("bytes").GetInt64(), read.GetProperty("chunkIndex").GetInt64()));
        Assert.Equal((0, 0, 2), (tableCode, noneCode, badCode));
        Assert.Contains("media.read", table, StringComparison.Ordinal);
        Assert.Contains(Key, table, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", table, StringComparison.Ordinal);
        Assert.Equal(0, JsonDocument.Parse(none).RootElement.GetProperty("records").GetArrayLength());
        Assert.Contains("--take", badError, StringComparison.Ordinal);
        Assert.Contains("manifest.read", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableService_IsOneLineError()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var root = new RootCommand { JobsCommand.Create() };

        var exitCode = await CommandRunner.RunAsync(root, ["jobs", "list", "--server", "http://127.0.0.1:9"], output, error);

        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: cannot reach the CallVault service", error.ToString(), StringComparison.Ordinal);
    }
}

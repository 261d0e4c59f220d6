using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The service's own console, as an operator reads it: the worker's scope (the chunk's document id, call id and
/// recording key) prints as <c>key=value</c> with the simple formatter (the default) and as JSON properties with
/// <c>Logging:Console:FormatterName=json</c>, and never as the name of a .NET type.
/// </summary>
public sealed class ConsoleLogFormatTests : IAsyncLifetime
{
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-logs-").FullName;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _emulator.DisposeAsync();
        Directory.Delete(_dataFolder, recursive: true);
    }

    /// <summary>The default console: one line per entry, the scope as <c>key=value</c> pairs.</summary>
    [Fact]
    public async Task SimpleConsole_WorkerScope_PrintsKeyValuePairs()
    {
        var (lines, chunk) = await StoreOneChunkAsync(formatter: null);

        var stored = lines.Where(l => l.Contains($"Stored chunk {chunk.DocumentId}", StringComparison.Ordinal)).ToList();
        Assert.True(stored.Count == 1, "No 'Stored chunk' line:\n" + string.Join('\n', lines));
        Assert.Matches($@" DocumentId={Regex.Escape(chunk.DocumentId)} CallId={Regex.Escape(chunk.CallId)} RecordingKey=\S*{Regex.Escape(chunk.RecordingId[..8])}\S* ", stored[0]);
        Assert.DoesNotContain(lines, l => l.Contains("System.Collections.Generic", StringComparison.Ordinal) || l.Contains("CallVault.Diagnostics.", StringComparison.Ordinal));
    }

    /// <summary>The JSON console: the scope's values are properties of the entry's scope object, not text.</summary>
    [Fact]
    public async Task JsonConsole_WorkerScope_WritesProperties()
    {
        var (lines, chunk) = await StoreOneChunkAsync(formatter: "json");

        var entries = lines.Select(Parse).ToList();
        Assert.True(entries.All(e => e is not null), "A console line is not JSON:\n" + string.Join('\n', lines.Where(l => Parse(l) is null)));
        var stored = entries.Select(e => e!.Value).Where(e => e.TryGetProperty("Message", out var m) && m.GetString() == $"Stored chunk {chunk.DocumentId} (index 0)").ToList();
        Assert.True(stored.Count == 1, "No 'Stored chunk' entry:\n" + string.Join('\n', lines));
        var scope = stored[0].GetProperty("Scopes").EnumerateArray().Single(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("DocumentId", out _));
        Assert.Equal(chunk.DocumentId, scope.GetProperty("DocumentId").GetString());
        Assert.Equal(chunk.CallId, scope.GetProperty("CallId").GetString());
        Assert.Contains(chunk.RecordingId[..8], scope.GetProperty("RecordingKey").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("System.Collections.Generic", StringComparison.Ordinal) || l.Contains("CallVault.Diagnostics.", StringComparison.Ordinal));
    }

    private static JsonElement? Parse(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Runs the service as its own process until one recording of one chunk is stored; returns its console lines.</summary>
    private async Task<(IReadOnlyList<string> Lines, (string DocumentId, string CallId, string RecordingId) Chunk)> StoreOneChunkAsync(string? formatter)
    {
        var settings = ServerUnderTest.SettingsFor(_emulator, _dataFolder, _secret);
        if (formatter is not null)
        {
            settings["Logging:Console:FormatterName"] = formatter;
        }

        await using var service = new ServiceChildProcess(settings);
        await service.StartAsync();
        using (var subscribe = await _admin.PostAsJsonAsync("subscriptions", new { endpoint = new Uri(service.BaseAddress, $"api/events?code={_secret}").AbsoluteUri }))
        {
            Assert.True(subscribe.IsSuccessStatusCode, await subscribe.Content.ReadAsStringAsync());
        }

        using var recorded = await _admin.PostAsJsonAsync("recordings", new { media = "synthetic", sizeBytes = 64 * 1024 });
        var recording = await recorded.Content.ReadFromJsonAsync<JsonElement>();
        var chunk = (
            recording.GetProperty("chunks")[0].GetProperty("documentId").GetString()!,
            recording.GetProperty("callId").GetString()!,
            recording.GetProperty("recordingId").GetString()!);
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(() => service.StandardOutputLines.Any(l => l.Contains($"Stored chunk {chunk.Item1}", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)),
            "The chunk was not stored:\n" + string.Join('\n', service.StandardOutputLines) + "\n" + service.StandardError);
        await service.StopAsync(TimeSpan.FromSeconds(30));
        return (service.StandardOutputLines, chunk);
    }
}

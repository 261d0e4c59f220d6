using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.Operations;

/// <summary>
/// The service in a process of its own, for tests that read <c>/metrics</c> whole: every in-process server of the test
/// run publishes instruments on a meter named CallVault, and the Prometheus exporter of one would show the others'.
/// </summary>
internal sealed class IsolatedService : IAsyncDisposable
{
    private readonly ServiceChildProcess _process;

    private IsolatedService(ServiceChildProcess process, string dataFolder, string secret)
    {
        _process = process;
        DataFolder = dataFolder;
        Client = new HttpClient { BaseAddress = process.BaseAddress };
        WebhookUrl = new Uri(process.BaseAddress, $"api/events?code={secret}");
    }

    public string DataFolder { get; }

    public string RecordingsFolder => Path.Combine(DataFolder, "recordings");

    public HttpClient Client { get; }

    public Uri WebhookUrl { get; }

    public static async Task<IsolatedService> StartAsync(AcsEmulator emulator, Action<Dictionary<string, string?>>? configure = null)
    {
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var dataFolder = Directory.CreateTempSubdirectory("callvault-ops-").FullName;
        var settings = ServerUnderTest.SettingsFor(emulator, dataFolder, secret);
        configure?.Invoke(settings);
        var process = new ServiceChildProcess(settings);
        var service = new IsolatedService(process, dataFolder, secret);
        await process.StartAsync(timeout: TimeSpan.FromMinutes(1));
        return service;
    }

    /// <summary>Polls the read API until the recording of <paramref name="callId"/> is in <paramref name="status"/>.</summary>
    public async Task WaitForRecordingAsync(string callId, string status = "stored")
    {
        var list = Array.Empty<JsonElement>();
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                async ct =>
                {
                    list = await Client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}", ct) ?? [];
                    return list is [var found] && found.GetProperty("status").GetString() == status;
                },
                TimeSpan.FromSeconds(60)),
            $"Recording of call {callId} did not reach '{status}': {JsonSerializer.Serialize(list)}");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(DataFolder, recursive: true);
    }
}

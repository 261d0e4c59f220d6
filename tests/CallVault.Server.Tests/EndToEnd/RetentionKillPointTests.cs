using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// A deletion killed half-way: the service as a real process is killed by SIGKILL right after deleting a chunk's media
/// (crash point <c>retention.after-media</c>) while deleting a recording by hand; started again on the same data, its
/// first sweep finishes the deletion: no files left, one tombstone, the recording answers 410.
/// </summary>
public sealed class RetentionKillPointTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("callvault-retention-kill-").FullName;
    private readonly string _secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly List<ServiceChildProcess> _services = [];
    private AcsEmulator _emulator = null!;
    private HttpClient _admin = null!;

    private string RecordingsFolder => Path.Combine(_dataFolder, "recordings");

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            await service.DisposeAsync();
        }

        _admin.Dispose();
        await _emulator.DisposeAsync();
        Directory.Delete(_dataFolder, recursive: true);
    }

    private async Task<ServiceChildProcess> StartAsync(string? crashAt)
    {
        var service = new ServiceChildProcess(ServerUnderTest.SettingsFor(_emulator, _dataFolder, _secret));
        _services.Add(service);
        await service.StartAsync(crashAt);
        return service;
    }

    [Fact]
    public async Task DeletionKilledAfterTheFirstMedia_IsFinishedAfterTheRestart()
    {
        var first = await StartAsync(crashAt: "retention.after-media");
        using (var subscribe = await _admin.PostAsJsonAsync("subscriptions", new { endpoint = new Uri(first.BaseAddress, $"api/events?code={_secret}").AbsoluteUri }))
        {
            Assert.True(subscribe.IsSuccessStatusCode);
        }

        var recording = await (await _admin.PostAsJsonAsync("recordings", new { durationSeconds = 6, chunkSizeLimitBytes = 70_000 })).Content.ReadFromJsonAsync<JsonElement>();
        using var client = new HttpClient { BaseAddress = first.BaseAddress };
        var callId = recording.GetProperty("callId").GetString();
        JsonElement[]? list = null;
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                () => (list = client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}").GetAwaiter().GetResult()) is [var r] && r.GetProperty("status").GetString() == "stored",
                Timeout),
            "The recording was not stored.");
        var key = list![0].GetProperty("key").GetString()!;
        Assert.True(list[0].GetProperty("chunks").GetInt32() > 1);

        using (var delete = new HttpRequestMessage(HttpMethod.Delete, $"api/recordings/{Uri.EscapeDataString(key)}") { Headers = { { "X-CallVault-Request", "1" } } })
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.SendAsync(delete));
        }

        await first.WaitForCrashAsync("retention.after-media", Timeout);
        Assert.NotEmpty(Directory.EnumerateFiles(RecordingsFolder, "*", SearchOption.AllDirectories));

        var second = await StartAsync(crashAt: null);
        using var after = new HttpClient { BaseAddress = second.BaseAddress };
        Assert.True(
            await WebhookRecorder.WaitUntilAsync(
                () => after.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}").GetAwaiter().GetResult().StatusCode == HttpStatusCode.Gone,
                Timeout),
            "The deletion was not finished after the restart.");
        Assert.Empty(Directory.EnumerateFiles(RecordingsFolder, "*", SearchOption.AllDirectories));
        var tombstone = Assert.Single((await after.GetFromJsonAsync<JsonElement[]>("api/tombstones"))!);
        Assert.Equal((key, "manual:local"), (tombstone.GetProperty("recordingKey").GetString(), tombstone.GetProperty("rule").GetString()));
        Assert.Equal(list[0].GetProperty("chunks").GetInt32(), tombstone.GetProperty("chunks").GetArrayLength());
    }
}

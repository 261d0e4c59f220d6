using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Server.Tests;

/// <summary>The CallVault service composed exactly as Program.cs does, on a dynamic loopback port with its own data folder.</summary>
public sealed class ServerUnderTest : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _keepData;
    private bool _disposed;

    private ServerUnderTest(WebApplication app, string dataFolder, string secret, Uri baseAddress, LogCapture logs)
    {
        _app = app;
        Logs = logs;
        DataFolder = dataFolder;
        Secret = secret;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress };
    }

    public string DataFolder { get; }

    public string RecordingsFolder => Path.Combine(DataFolder, "recordings");

    public string Secret { get; }

    public Uri BaseAddress { get; }

    public Uri WebhookUrl => new(BaseAddress, $"api/events?code={Secret}");

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>What the server logged (at Information and above, as configured).</summary>
    public LogCapture Logs { get; }

    /// <summary>Changes settings while the server runs and reloads its configuration, as an edited appsettings.json would.</summary>
    public void Reconfigure(IReadOnlyDictionary<string, string?> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var (key, value) in changes)
        {
            _app.Configuration[key] = value;
        }

        ((IConfigurationRoot)_app.Configuration).Reload();
    }

    /// <summary>Settings for a server that uses <paramref name="emulator"/>, with fast polling and retries.</summary>
    public static Dictionary<string, string?> SettingsFor(AcsEmulator? emulator, string dataFolder, string secret) => new()
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["CallVault:DataDirectory"] = dataFolder,
        ["CallVault:Acs:ConnectionString"] = emulator?.ConnectionString.ToSecretString(),
        ["CallVault:Acs:AllowedHosts:0"] = emulator?.StorageOrigin,
        ["CallVault:Acs:Retry:BaseDelay"] = "00:00:00.050",
        ["CallVault:Acs:Retry:MaxDelay"] = "00:00:00.500",
        ["CallVault:Acs:Download:StallTimeout"] = "00:00:02",
        ["CallVault:Webhook:Secrets:0"] = secret,
        ["CallVault:Worker:PollInterval"] = "00:00:00.200",
        ["CallVault:Worker:RetryBaseDelay"] = "00:00:00.100",
        ["CallVault:Worker:RetryMaxDelay"] = "00:00:01",
    };

    public static async Task<ServerUnderTest> StartAsync(AcsEmulator? emulator, Action<Dictionary<string, string?>>? configure = null, TimeProvider? clock = null)
    {
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var settings = SettingsFor(emulator, Directory.CreateTempSubdirectory("callvault-server-").FullName, secret);
        configure?.Invoke(settings);
        var dataFolder = settings["CallVault:DataDirectory"]!;
        foreach (var key in settings.Where(pair => pair.Value is null).Select(pair => pair.Key).ToList())
        {
            settings.Remove(key);
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Path.Combine(CallVault.Testing.RepositoryPaths.Root, "src", "CallVault.Server", "wwwroot"),
            EnvironmentName = "Testing",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        var logs = new LogCapture();
        builder.Logging.AddProvider(logs);
        if (clock is not null)
        {
            // Before AddCallVault, whose TryAdd then keeps it: the service's clock, which a test can move forward.
            builder.Services.AddSingleton(clock);
        }

        builder.AddCallVault();
        var app = builder.Build();
        app.MapCallVault();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServerUnderTest(app, dataFolder, secret, new Uri(address.TrimEnd('/') + "/"), logs);
    }

    /// <summary>Polls the read API until the recording with <paramref name="callId"/> is in <paramref name="status"/>.</summary>
    public async Task<JsonElement> WaitForRecordingAsync(string callId, string status = "stored", TimeSpan? timeout = null)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var list = await Client.GetFromJsonAsync<JsonElement[]>($"api/recordings?callId={callId}");
            if (list is [var found] && found.GetProperty("status").GetString() == status)
            {
                return await Client.GetFromJsonAsync<JsonElement>($"api/recordings/{found.GetProperty("key").GetString()}");
            }

            if (deadline.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"Recording of call {callId} did not reach '{status}': {JsonSerializer.Serialize(list)}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Whether a service answers its liveness probe; false while it is not listening yet.</summary>
    public static async Task<bool> IsLiveAsync(HttpClient client, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.GetAsync("health/live", cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Stops the service gracefully and keeps its data folder (a later server may reuse it).</summary>
    public async Task StopAsync()
    {
        _keepData = true;
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_keepData && Directory.Exists(DataFolder))
        {
            Directory.Delete(DataFolder, recursive: true);
        }
    }
}

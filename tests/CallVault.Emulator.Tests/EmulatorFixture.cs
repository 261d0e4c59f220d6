using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Acs;
using CallVault.Acs.Recordings;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Emulator.Tests;

/// <summary>An emulator on dynamic loopback ports and a recording client configured for it, per test class.</summary>
public class EmulatorTestBase : IAsyncLifetime
{
    private ServiceProvider? _services;

    protected AcsEmulator Emulator { get; private set; } = null!;

    protected HttpClient Admin { get; private set; } = null!;

    protected virtual AcsEmulatorOptions Options => new() { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 };

    public virtual async Task InitializeAsync()
    {
        Emulator = await AcsEmulator.StartAsync(Options);
        Admin = new HttpClient { BaseAddress = Emulator.AdminBase };
    }

    public virtual async Task DisposeAsync()
    {
        Admin.Dispose();
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await Emulator.DisposeAsync();
    }

    /// <summary>A CallVault recording client with the emulator's connection string and its storage origin allowed.</summary>
    protected AcsRecordingClient CreateClient(Action<AcsClientOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddAcsRecordingClient(options =>
        {
            options.ConnectionString = Emulator.ConnectionString.ToSecretString();
            options.AllowedHosts.Add(Emulator.StorageOrigin);
            options.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
            options.Retry.MaxDelay = TimeSpan.FromMilliseconds(100);
            options.Download.ParallelConnections = 1;
            configure?.Invoke(options);
        });
        _services = services.BuildServiceProvider();
        return _services.GetRequiredService<AcsRecordingClient>();
    }

    /// <summary>Records a call through the admin API and returns its JSON view.</summary>
    protected async Task<JsonElement> RecordAsync(object spec)
    {
        using var response = await Admin.PostAsJsonAsync("recordings", spec);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    protected static JsonElement Chunk(JsonElement recording, int index = 0) => recording.GetProperty("chunks")[index];

    protected static Uri Location(JsonElement chunk, string name) => new(chunk.GetProperty(name).GetString()!);
}

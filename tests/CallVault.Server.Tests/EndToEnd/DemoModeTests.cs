using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Server.Hosting;
using CallVault.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The README's first command: <c>--demo</c> hosts the emulator, subscribes the webhook, and records sample calls
/// through the service's own session API, so each session goes from active to stored.
/// </summary>
public sealed class DemoModeTests
{
    [Fact]
    public void TakeFlag_RemovesDemoAndKeepsTheRest()
    {
        var (demo, rest) = DemoMode.TakeFlag(["--urls", "http://x", "--demo"]);

        Assert.True(demo);
        Assert.Equal(["--urls", "http://x"], rest);
        Assert.False(DemoMode.TakeFlag(["--urls", "http://x"]).Demo);
    }

    [Fact]
    public async Task DemoMode_RecordsSampleCallsThroughSessionsUntilStoredWithNothingConfigured()
    {
        var dataFolder = Directory.CreateTempSubdirectory("callvault-demo-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["CallVault:DataDirectory"] = dataFolder,
            ["CallVault:Demo:IntervalSeconds"] = "1",
            ["CallVault:Demo:CallSeconds"] = "2",
            ["CallVault:Worker:PollInterval"] = "00:00:00.200",
        });
        builder.Logging.ClearProviders();
        var log = new CapturedLog();
        builder.Logging.AddProvider(log);
        builder.AddCallVault();
        await builder.AddDemoModeAsync();
        await using var app = builder.Build();
        app.MapCallVault();
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address) };

            JsonElement[] sessions = [];
            Assert.True(
                await WebhookRecorder.WaitUntilAsync(
                    async ct =>
                    {
                        sessions = (await client.GetFromJsonAsync<JsonElement[]>("api/sessions", ct))!;
                        return sessions.Count(s => s.GetProperty("state").GetString() == "Stopped" && s.GetProperty("recording") is { ValueKind: JsonValueKind.Object } r && r.GetProperty("storedAt").ValueKind == JsonValueKind.String) >= 2;
                    },
                    TimeSpan.FromSeconds(60)),
                $"Demo mode did not record two sample calls through sessions until stored: {JsonSerializer.Serialize(sessions)}");
            var session = await client.GetFromJsonAsync<JsonElement>($"api/sessions/{Uri.EscapeDataString(sessions.Last().GetProperty("recordingId").GetString()!)}");
            var events = session.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()).ToList();
            // The start is recorded when ACS answered it, so its "active" callback may come first (its time is ACS's).
            Assert.Equal(["active", "start"], events.Take(2).Order(StringComparer.Ordinal));
            Assert.Equal(["inactive", "filesArrived", "stored"], events.Skip(2));
            Assert.True((await client.GetFromJsonAsync<JsonElement[]>("api/recordings"))!.Count(r => r.GetProperty("status").GetString() == "stored") >= 2);
            Assert.Contains(log.Messages, m => m.Contains($"Open the dashboard at {address.TrimEnd('/')}/", StringComparison.Ordinal));
            var ready = await client.GetFromJsonAsync<JsonElement>("health/ready");
            Assert.Equal("Healthy", ready.GetProperty("status").GetString());
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(dataFolder, "recordings"), "chunk-000.wav", SearchOption.AllDirectories));
        }
        finally
        {
            await app.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataFolder, recursive: true);
        }
    }
}

/// <summary>Keeps every log message, to check what the demo tells a newcomer.</summary>
internal sealed class CapturedLog : ILoggerProvider
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Messages.Enqueue(formatter(state, exception));
            }
        }
    }
}

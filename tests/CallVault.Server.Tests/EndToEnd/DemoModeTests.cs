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

/// <summary>The README's first command: <c>--demo</c> hosts the emulator, subscribes the webhook and stores sample calls.</summary>
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
    public async Task DemoMode_StoresSampleCallsWithNothingConfigured()
    {
        var dataFolder = Directory.CreateTempSubdirectory("callvault-demo-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["CallVault:DataDirectory"] = dataFolder,
            ["CallVault:Demo:IntervalSeconds"] = "1",
            ["CallVault:Worker:PollInterval"] = "00:00:00.200",
        });
        builder.Logging.ClearProviders();
        builder.AddCallVault();
        await builder.AddDemoModeAsync();
        await using var app = builder.Build();
        app.MapCallVault();
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address) };

            Assert.True(
                await WebhookRecorder.WaitUntilAsync(
                    async ct => (await client.GetFromJsonAsync<JsonElement[]>("api/recordings", ct))!.Count(r => r.GetProperty("status").GetString() == "stored") >= 2,
                    TimeSpan.FromSeconds(60)),
                "Demo mode did not store two sample calls.");
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

using System.Security.Cryptography;
using CallVault.Emulator;
using CallVault.Emulator.EventGrid;
using CallVault.Emulator.Recordings;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CallVault.Server.Hosting;

/// <summary>
/// <c>--demo</c>: hosts the ACS emulator in-process, points CallVault at it, subscribes CallVault's own webhook
/// (handshake included) and records a sample call every minute, so the whole pipeline can be watched with nothing to
/// configure.
/// </summary>
public static partial class DemoMode
{
    /// <summary>Removes <c>--demo</c> from the arguments and says whether it was there.</summary>
    public static (bool Demo, string[] HostArguments) TakeFlag(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rest = args.Where(a => !a.Equals("--demo", StringComparison.OrdinalIgnoreCase)).ToArray();
        return (rest.Length != args.Length, rest);
    }

    /// <summary>Starts the emulator and configures CallVault to use it.</summary>
    public static async Task AddDemoModeAsync(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions
        {
            EndpointUrl = "http://127.0.0.1:0",
            StorageUrl = "http://127.0.0.1:0",
            TimeFactor = 0.01,
        });
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CallVault:Acs:ConnectionString"] = emulator.ConnectionString.ToSecretString(),
            ["CallVault:Acs:AllowedHosts:0"] = emulator.StorageOrigin,
            ["CallVault:Webhook:Secrets:0"] = secret,
        });
        builder.Services.AddSingleton(emulator);
        builder.Services.AddSingleton(new DemoSecret(secret));
        builder.Services.AddHostedService<DemoRecorder>();
    }

    internal sealed record DemoSecret(string Value);

    /// <summary>Subscribes the webhook once the server listens, then records a sample call every interval.</summary>
    internal sealed partial class DemoRecorder(
        AcsEmulator emulator,
        DemoSecret secret,
        IServer server,
        IHostApplicationLifetime lifetime,
        IConfiguration configuration,
        TimeProvider timeProvider,
        ILogger<DemoRecorder> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
            await started.Task.WaitAsync(stoppingToken);

            var address = server.Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
            var subscription = await emulator.Context.EventGrid.SubscribeAsync(
                new SubscriptionSpec { Name = "callvault-demo", Endpoint = $"{address.TrimEnd('/')}/api/events?code={secret.Value}" },
                stoppingToken);
            Log.Subscribed(logger, emulator.Endpoint, subscription.State.ToString(), address);
            var interval = TimeSpan.FromSeconds(configuration.GetValue("CallVault:Demo:IntervalSeconds", 60.0));
            while (!stoppingToken.IsCancellationRequested)
            {
                var recording = await emulator.RecordAsync(
                    new RecordingSpec { DurationSeconds = 20, ChannelType = "unmixed", Participants = ["8:acs:demo-agent", "4:+14255550123"] },
                    stoppingToken);
                Log.Recorded(logger, recording.CallId, recording.Chunks.Count, address);
                await Task.Delay(interval, timeProvider, stoppingToken);
            }
        }

        private static partial class Log
        {
            [LoggerMessage(1, LogLevel.Information, "Demo mode: ACS emulator at {Endpoint}; webhook subscription {State}. Open {Address}/api/recordings to watch recordings arrive.")]
            public static partial void Subscribed(ILogger logger, Uri endpoint, string state, string address);

            [LoggerMessage(2, LogLevel.Information, "Demo mode: recorded a sample call {CallId} ({Chunks} chunk(s)); see {Address}/api/recordings")]
            public static partial void Recorded(ILogger logger, string callId, int chunks, string address);
        }
    }
}

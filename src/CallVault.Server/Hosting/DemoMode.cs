using System.Security.Cryptography;
using CallVault.Emulator;
using CallVault.Emulator.EventGrid;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CallVault.Server.Hosting;

/// <summary>
/// <c>--demo</c>: hosts the ACS emulator in-process, points CallVault at it (recording downloads, Call Automation and
/// its callbacks), subscribes CallVault's own webhook (handshake included) and records a sample call every minute
/// through CallVault's session API, so the whole pipeline can be watched on the dashboard with nothing to configure.
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

            // Call Automation's callback tokens are checked as against a real resource: the emulator's OpenID
            // configuration and its resource id as the audience. The public base URL is set once the server listens.
            ["CallVault:Recording:CallbackAudience"] = AcsEmulatorOptions.DefaultResourceImmutableId,
            ["CallVault:Recording:CallbackMetadataAddress"] = new Uri(emulator.Endpoint, "calling/.well-known/acsopenidconfiguration").AbsoluteUri,
        });
        builder.Services.AddSingleton(emulator);
        builder.Services.AddSingleton(new DemoSecret(secret));
        builder.Services.AddHostedService<DemoRecorder>();
    }

    internal sealed record DemoSecret(string Value);

    /// <summary>
    /// Subscribes the webhook once the server listens, then every interval places a sample call in the emulator
    /// (<c>POST /admin/calls</c>), starts its recording through CallVault's own session API (<c>POST /api/sessions</c>)
    /// and lets the call end: the session goes from active to stopped, its files arrive through Event Grid and are
    /// stored, all of it visible on the dashboard.
    /// </summary>
    internal sealed partial class DemoRecorder(
        AcsEmulator emulator,
        DemoSecret secret,
        IServer server,
        IHostApplicationLifetime lifetime,
        IConfiguration configuration,
        TimeProvider timeProvider,
        ILogger<DemoRecorder> logger) : BackgroundService
    {

        /// <summary>An agent and a customer on the phone: two channels in the unmixed recording.</summary>
        private static readonly string[] Participants = ["8:acs:demo-agent", "4:+14255550123"];

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
            await started.Task.WaitAsync(stoppingToken);

            var address = server.Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');

            // The emulator calls back to this server's own address, known only now that it listens (the port may be
            // chosen by the system); the session API reads the option at each start, so a reload is enough.
            if (configuration is IConfigurationRoot root)
            {
                root["CallVault:Recording:PublicBaseUrl"] = address + "/";
                root.Reload();
            }

            var subscription = await emulator.Context.EventGrid.SubscribeAsync(
                new SubscriptionSpec { Name = "callvault-demo", Endpoint = $"{address}/api/events?code={secret.Value}" },
                stoppingToken);
            Log.Subscribed(logger, emulator.Endpoint, subscription.State.ToString(), address);
            var interval = TimeSpan.FromSeconds(configuration.GetValue("CallVault:Demo:IntervalSeconds", 60.0));
            var callSeconds = configuration.GetValue("CallVault:Demo:CallSeconds", 20.0);
            using var emulatorAdmin = new HttpClient { BaseAddress = emulator.AdminBase };
            using var callVault = new HttpClient { BaseAddress = new Uri(address + "/") };

            // The demo acts as an operator on this machine: keyless loopback requests may change state when they
            // carry the header a browser form cannot send.
            callVault.DefaultRequestHeaders.Add("X-CallVault-Request", "1");
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RecordSampleCallAsync(emulatorAdmin, callVault, address, callSeconds, stoppingToken);
                }
                catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    Log.SampleCallFailed(logger, ex.Message);
                }

                await Task.Delay(interval, timeProvider, stoppingToken);
            }
        }

        private async Task RecordSampleCallAsync(HttpClient emulatorAdmin, HttpClient callVault, string address, double callSeconds, CancellationToken cancellationToken)
        {
            using var placed = await emulatorAdmin.PostAsJsonAsync(
                "calls",
                new { participants = Participants, durationSeconds = callSeconds },
                cancellationToken);
            await EnsureSuccessAsync(placed, "the emulator refused the sample call", cancellationToken);
            var call = await placed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(cancellationToken);
            var serverCallId = call.GetProperty("serverCallId").GetString()!;

            using var session = await callVault.PostAsJsonAsync(
                "api/sessions",
                new { serverCallId, channel = "unmixed", format = "wav", content = "audio" },
                cancellationToken);
            await EnsureSuccessAsync(session, "CallVault's session API refused the sample recording", cancellationToken);
            var recordingId = (await session.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(cancellationToken)).GetProperty("recordingId").GetString()!;
            Log.Recording(logger, call.GetProperty("callId").GetString() ?? serverCallId, recordingId, address);
        }

        private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {body}");
            }
        }

        private static partial class Log
        {
            [LoggerMessage(1, LogLevel.Information, "Demo mode: ACS emulator at {Endpoint}; webhook subscription {State}. Open the dashboard at {Address}/ to watch recording sessions go from active to stored.")]
            public static partial void Subscribed(ILogger logger, Uri endpoint, string state, string address);

            [LoggerMessage(2, LogLevel.Information, "Demo mode: recording sample call {CallId} as {RecordingId}; watch it on the dashboard at {Address}/")]
            public static partial void Recording(ILogger logger, string callId, string recordingId, string address);

            [LoggerMessage(3, LogLevel.Warning, "Demo mode: a sample call could not be recorded: {Reason}")]
            public static partial void SampleCallFailed(ILogger logger, string reason);
        }
    }
}

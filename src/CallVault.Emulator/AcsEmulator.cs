using System.Security.Cryptography;
using System.Text.Json.Serialization;
using CallVault.Acs;
using CallVault.Emulator.Admin;
using CallVault.Emulator.CallAutomation;
using CallVault.Emulator.EventGrid;
using CallVault.Emulator.Hosting;
using CallVault.Emulator.Media;
using CallVault.Emulator.Recordings;
using CallVault.Emulator.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Logging.Abstractions;

namespace CallVault.Emulator;

/// <summary>
/// A running emulator of ACS call recording: two hosts as in the real service (the ACS endpoint with the 2021-preview
/// download routes and the admin API; the media storage host with the GA locations), plus Event Grid delivery. Start
/// it from a test on dynamic ports with <c>http://127.0.0.1:0</c>, or from the command line.
/// </summary>
public sealed class AcsEmulator : IAsyncDisposable
{
    private readonly WebApplication _endpointHost;
    private readonly WebApplication _storageHost;

    private AcsEmulator(EmulatorContext context, WebApplication endpointHost, WebApplication storageHost)
    {
        Context = context;
        _endpointHost = endpointHost;
        _storageHost = storageHost;
    }

    /// <summary>The shared state: recordings, faults, link shape, Event Grid.</summary>
    public EmulatorContext Context { get; }

    /// <summary>The ACS endpoint, e.g. <c>http://127.0.0.1:5271/</c>.</summary>
    public Uri Endpoint => Context.Endpoint;

    /// <summary>The media storage host, e.g. <c>http://127.0.0.1:5272/</c>.</summary>
    public Uri StorageBase => Context.StorageBase;

    /// <summary>The admin API's base URL.</summary>
    public Uri AdminBase => new(Endpoint, "admin/");

    /// <summary>The connection string clients use: the endpoint and the access key.</summary>
    public AcsConnectionString ConnectionString => AcsConnectionString.Create(Endpoint, Context.AccessKey.Span);

    /// <summary>The allowed-host entry a client needs for the storage host, e.g. <c>http://127.0.0.1:5272</c>.</summary>
    public string StorageOrigin => StorageBase.GetLeftPart(UriPartial.Authority);

    /// <summary>Starts both hosts.</summary>
    public static async Task<AcsEmulator> StartAsync(AcsEmulatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Guid.TryParse(options.ResourceImmutableId, out _))
        {
            throw new ArgumentException($"The resource immutable id must be a GUID; got '{options.ResourceImmutableId}'.", nameof(options));
        }

        var key = options.AccessKey is { } text ? Convert.FromBase64String(text) : RandomNumberGenerator.GetBytes(32);
        var context = new EmulatorContext(options, key);
        var loggerFactory = options.Verbose ? LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)) : NullLoggerFactory.Instance;
        var factory = new RecordingFactory(
            options.TimeProvider,
            options.Retention,
            new FfmpegEncoder(options.FfmpegPath, Path.Combine(Path.GetTempPath(), "callvault-emulator")),
            options.ResourceImmutableId);

        var storageHost = CreateHost(options.StorageUrl, options.Verbose);
        storageHost.MapStorageDownloads(context);
        var endpointHost = CreateHost(options.EndpointUrl, options.Verbose);
        endpointHost.MapPreviewDownloads(context);
        endpointHost.MapCallAutomation(context);
        endpointHost.MapAdmin(context, spec =>
        {
            var recording = factory.Create(spec);
            context.Recordings.Add(recording);
            return recording;
        });

        await storageHost.StartAsync(cancellationToken);
        await endpointHost.StartAsync(cancellationToken);
        context.StorageBase = BoundAddress(storageHost);
        context.Endpoint = BoundAddress(endpointHost);
        context.EventGrid = new EventGridService(context, loggerFactory.CreateLogger<EventGridService>());
        context.CallAutomation = new CallAutomationService(
            context,
            factory,
            new CallbackTokenIssuer(context.Endpoint, options.ResourceImmutableId, options.TimeProvider));
        return new AcsEmulator(context, endpointHost, storageHost);
    }

    /// <summary>Records a call directly, without the admin API, and publishes its events when asked to.</summary>
    public async Task<EmulatedRecording> RecordAsync(RecordingSpec spec, CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { BaseAddress = AdminBase };
        using var response = await client.PostAsJsonAsync("recordings", spec, JsonOptions, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new EmulatorRequestException(await response.Content.ReadAsStringAsync(cancellationToken));
        }

        var view = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(JsonOptions, cancellationToken);
        return Context.Recordings.Find(view.GetProperty("recordingId").GetString()!)!;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Context.CallAutomation is not null)
        {
            await Context.CallAutomation.DisposeAsync();
        }

        if (Context.EventGrid is not null)
        {
            await Context.EventGrid.DisposeAsync();
        }

        await _endpointHost.StopAsync();
        await _storageHost.StopAsync();
        await _endpointHost.DisposeAsync();
        await _storageHost.DisposeAsync();
    }

    internal static System.Text.Json.JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    private static System.Text.Json.JsonSerializerOptions CreateJsonOptions()
    {
        var json = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web);
        json.Converters.Add(new JsonStringEnumConverter());
        return json;
    }

    private static WebApplication CreateHost(string url, bool verbose)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (!verbose)
        {
            builder.Logging.ClearProviders();
        }

        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 1024 * 1024);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        builder.Services.AddSingleton<IHostLifetime, PassiveHostLifetime>();
        return builder.Build();
    }

    private static Uri BoundAddress(WebApplication host)
    {
        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.TrimEnd('/') + "/");
    }
}

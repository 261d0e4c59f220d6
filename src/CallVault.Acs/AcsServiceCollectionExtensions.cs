using System.Net;
using CallVault.Acs.Authentication;
using CallVault.Acs.CallAutomation;
using CallVault.Acs.Http;
using CallVault.Acs.Recordings;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CallVault.Acs;

/// <summary>Registers the ACS recording client and its signed HTTP pipeline.</summary>
public static class AcsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="AcsRecordingClient"/> with validated <see cref="AcsClientOptions"/>, on an HTTP pipeline that
    /// follows redirects hop by hop, checks the host allow-list and signs each request. The client has no overall
    /// timeout: long downloads are kept alive by <see cref="Downloads.AcsDownloadOptions.StallTimeout"/> instead.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Optional configuration applied after any bound configuration.</param>
    /// <returns>The client's builder, for further handlers.</returns>
    public static IHttpClientBuilder AddAcsRecordingClient(this IServiceCollection services, Action<AcsClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AcsClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AcsClientOptions>, AcsClientOptionsAttributeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AcsClientOptions>, AcsClientOptionsValidator>());
        services.TryAddSingleton<Downloads.DownloadConnectionCounter>();

        // One pool for the process's downloads: the budget is read once, when the first client is made.
        services.TryAddSingleton(sp => new Downloads.PartBufferPool(sp.GetRequiredService<IOptions<AcsClientOptions>>().Value.PartBufferBudgetBytes));
        services.TryAddSingleton(TimeProvider.System);

        return services
            .AddHttpClient<AcsRecordingClient>(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
            .AddAcsHmacSigning();
    }

    /// <summary>
    /// Adds <see cref="CallRecordingClient"/> (Call Automation recording control) with the same validated
    /// <see cref="AcsClientOptions"/> as <see cref="AddAcsRecordingClient"/> (<c>CallVault:Acs</c>), on the same signed
    /// pipeline. Each attempt may take 30 seconds before it counts as unanswered and is retried.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Optional configuration applied after any bound configuration.</param>
    /// <returns>The client's builder, for further handlers.</returns>
    public static IHttpClientBuilder AddCallRecordingClient(this IServiceCollection services, Action<AcsClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AcsClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AcsClientOptions>, AcsClientOptionsAttributeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AcsClientOptions>, AcsClientOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        return services
            .AddHttpClient<CallRecordingClient>(client => client.Timeout = CallRecordingAttemptTimeout)
            .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
            .AddAcsHmacSigning();
    }

    /// <summary>How long one Call Automation request may wait for its answer: 30 seconds.</summary>
    public static readonly TimeSpan CallRecordingAttemptTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Adds ACS request signing to any HTTP client: a redirect handler that follows a redirect only to a URL the host
    /// allow-list accepts (never from https to http), re-signs same-origin hops and strips credentials from
    /// cross-origin ones, then the allow-list check and HMAC-SHA256 signature. The primary handler
    /// must not follow redirects itself (<see cref="CreatePrimaryHandler"/> doesn't).
    /// </summary>
    public static IHttpClientBuilder AddAcsHmacSigning(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder
            .AddHttpMessageHandler(static services => new AcsRedirectHandler(services.GetRequiredService<IOptionsMonitor<AcsClientOptions>>()))
            .AddHttpMessageHandler(static services => new AcsHmacSigningHandler(
                services.GetRequiredService<IOptionsMonitor<AcsClientOptions>>(),
                services.GetRequiredService<TimeProvider>()));
    }

    /// <summary>
    /// The socket handler ACS clients use: no automatic redirects (they would carry the signature to another host),
    /// no decompression (bytes are stored as sent), and connections recycled every few minutes to follow DNS changes.
    /// </summary>
    public static SocketsHttpHandler CreatePrimaryHandler() => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(30),
        UseCookies = false,
    };
}

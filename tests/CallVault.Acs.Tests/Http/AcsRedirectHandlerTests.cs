using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;
using CallVault.Acs.Hosts;
using CallVault.Acs.Recordings;
using CallVault.Acs.Tests.Infrastructure;
using CallVault.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Acs.Tests.Http;

/// <summary>
/// Redirects answered by real servers on loopback (plain http and https with a self-signed certificate): a hop is
/// followed only to a URL the allow-list accepts and never from https to http, the ACS signature never reaches another
/// origin, hops are bounded, and the last hop's answer gets the checks a direct download gets.
/// </summary>
public sealed class AcsRedirectHandlerTests : IAsyncLifetime
{
    private static readonly string[] CredentialHeaders = ["Authorization", "x-ms-date", "x-ms-content-sha256", "x-ms-host"];
    private LoopbackServer _origin = null!;
    private LoopbackServer _target = null!;
    private LoopbackServer _httpsOrigin = null!;
    private LoopbackServer _httpsTarget = null!;
    private ServiceProvider? _services;

    public async Task InitializeAsync()
    {
        _origin = await LoopbackServer.StartAsync(https: false);
        _target = await LoopbackServer.StartAsync(https: false);
        _httpsOrigin = await LoopbackServer.StartAsync(https: true);
        _httpsTarget = await LoopbackServer.StartAsync(https: true);
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await _origin.DisposeAsync();
        await _target.DisposeAsync();
        await _httpsOrigin.DisposeAsync();
        await _httpsTarget.DisposeAsync();
    }

    private AcsRecordingClient CreateClient(params string[] allowedHosts)
    {
        var services = new ServiceCollection();
        services.AddAcsRecordingClient(options =>
            {
                options.ConnectionString = $"endpoint=https://contoso-acs.communication.azure.com/;accesskey={TestOptions.Key}";
                foreach (var host in allowedHosts)
                {
                    options.AllowedHosts.Add(host);
                }

                options.Retry.MaxRetryAttempts = 0;
                options.Download.ParallelConnections = 1;
                options.Download.StallTimeout = TimeSpan.FromSeconds(5);
            })
            .ConfigurePrimaryHttpMessageHandler(() =>
            {
                // The test servers' certificate is self-signed for localhost; everything else is the production handler.
                var handler = AcsServiceCollectionExtensions.CreatePrimaryHandler();
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate?.Subject == LoopbackServer.CertificateSubject;
                return handler;
            });
        _services = services.BuildServiceProvider(validateScopes: true);
        return _services.GetRequiredService<AcsRecordingClient>();
    }

    private static Uri Hop(LoopbackServer from, Uri to) => new(from.BaseAddress, "hop?to=" + Uri.EscapeDataString(to.AbsoluteUri));

    private static async Task<byte[]> DownloadAsync(AcsRecordingClient client, Uri location)
    {
        using var destination = new MemoryStream();
        await client.DownloadToAsync(new AcsDownloadRequest(location), destination);
        return destination.ToArray();
    }

    /// <summary>A redirect to a loopback origin missing from the allow-list is refused before anything is sent to it.</summary>
    [Fact]
    public async Task Redirect_ToOriginOutsideTheAllowList_IsNotFollowed()
    {
        var client = CreateClient(_origin.Origin);

        var error = await Assert.ThrowsAsync<AcsHostNotAllowedException>(() => DownloadAsync(client, Hop(_origin, _target.Object(1000))));

        Assert.Empty(_target.Requests);
        Assert.Contains("redirect", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("?", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A host on the media suffixes is still refused over plain http, even from a plain-http origin.</summary>
    [Fact]
    public async Task Redirect_ToPlainHttpOnAnAcsMediaHost_IsNotFollowed()
    {
        var client = CreateClient(_origin.Origin);

        await Assert.ThrowsAsync<AcsHostNotAllowedException>(() =>
            DownloadAsync(client, Hop(_origin, new Uri("http://eu-storage.asm.skype.com/v1/objects/x/content/audio"))));
    }

    /// <summary>Only http and https are ever followed.</summary>
    [Fact]
    public async Task Redirect_ToAnotherScheme_IsNotFollowed()
    {
        var client = CreateClient(_origin.Origin);

        await Assert.ThrowsAsync<AcsHostNotAllowedException>(() => DownloadAsync(client, Hop(_origin, new Uri("file:///etc/passwd"))));
    }

    /// <summary>From https, a redirect down to plain http is refused even to an origin the allow-list names.</summary>
    [Fact]
    public async Task Redirect_FromHttpsToHttp_IsNotFollowedEvenToAnAllowedOrigin()
    {
        var client = CreateClient("localhost", _target.Origin);

        var error = await Assert.ThrowsAsync<AcsHostNotAllowedException>(() => DownloadAsync(client, Hop(_httpsOrigin, _target.Object(1000))));

        Assert.Contains("https to plain http", error.Message, StringComparison.Ordinal);
        Assert.Single(_httpsOrigin.Requests);
        Assert.Empty(_target.Requests);
    }

    /// <summary>
    /// An https hop to another allowed origin is followed with the range kept and no ACS credential header, while the
    /// first request was signed.
    /// </summary>
    [Fact]
    public async Task Redirect_HttpsToAnotherAllowedOrigin_IsFollowedWithoutCredentials()
    {
        var client = CreateClient("localhost");

        var bytes = await DownloadAsync(client, Hop(_httpsOrigin, _httpsTarget.Object(100_000)));

        Assert.Equal(LoopbackServer.Content(0, 100_000), bytes);
        var first = Assert.Single(_httpsOrigin.Requests);
        Assert.True(first.Headers.ContainsKey("Authorization"));
        var followed = Assert.Single(_httpsTarget.Requests);
        Assert.All(CredentialHeaders, h => Assert.False(followed.Headers.ContainsKey(h), $"{h} was sent to the redirect's target"));
    }

    /// <summary>A resumed download's Range header survives the hop (and still no credentials go with it).</summary>
    [Fact]
    public async Task Redirect_ResumedDownload_KeepsTheRangeAndDropsTheCredentials()
    {
        var client = CreateClient(_origin.Origin, _target.Origin);
        using var destination = new MemoryStream();
        destination.Write(LoopbackServer.Content(0, 40_000));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(destination.ToArray());

        await client.DownloadToAsync(new AcsDownloadRequest(Hop(_origin, _target.Object(100_000))) { ResumeOffset = 40_000, Sha256 = hash }, destination);

        Assert.Equal(LoopbackServer.Content(0, 100_000), destination.ToArray());
        var followed = Assert.Single(_target.Requests);
        Assert.Equal("bytes=40000-", followed.Headers["Range"]);
        Assert.All(CredentialHeaders, h => Assert.False(followed.Headers.ContainsKey(h), $"{h} was sent to the redirect's target"));
    }

    /// <summary>A redirect loop stops after the bounded number of hops; the last redirect is the (refused) answer.</summary>
    [Fact]
    public async Task Redirect_Loop_StopsAfterMaxRedirects()
    {
        var client = CreateClient(_origin.Origin);

        var error = await Assert.ThrowsAsync<AcsRequestException>(() => DownloadAsync(client, new Uri(_origin.BaseAddress, "loop")));

        Assert.Equal(302, error.Status);
        Assert.Equal(1 + CallVault.Acs.Http.AcsRedirectHandler.MaxRedirects, _origin.Requests.Count);
    }

    /// <summary>The redirected answer is checked like a direct one: a Content-Range that does not match the range asked for is refused.</summary>
    [Fact]
    public async Task Redirect_TargetWithWrongContentRange_FailsAsADirectDownloadWould()
    {
        var client = CreateClient(_origin.Origin, _target.Origin);
        using var destination = new MemoryStream();
        destination.Write(LoopbackServer.Content(0, 10));

        var error = await Assert.ThrowsAsync<AcsContentException>(() =>
            client.DownloadToAsync(new AcsDownloadRequest(Hop(_origin, new Uri(_target.BaseAddress, "wrong-range/1000"))) { ResumeOffset = 10 }, destination));

        Assert.Equal(AcsContentProblem.InvalidContentRange, error.Problem);
    }

    /// <summary>A redirected body shorter than its Content-Length is a truncated download, not a complete one.</summary>
    [Fact]
    public async Task Redirect_TargetThatSendsLessThanItsLength_IsTruncated()
    {
        var client = CreateClient(_origin.Origin, _target.Origin);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => DownloadAsync(client, Hop(_origin, new Uri(_target.BaseAddress, "short/100000"))));

        Assert.True(error is AcsContentException { Problem: AcsContentProblem.Truncated } or HttpRequestException or IOException, error.ToString());
    }

    /// <summary>A metadata document reached through a redirect has the same size limit as one fetched directly.</summary>
    [Fact]
    public async Task Redirect_OversizedMetadata_IsRefusedAsADirectOneWould()
    {
        var client = CreateClient(_origin.Origin, _target.Origin);
        var size = AcsRecordingClient.MaxMetadataBytes + 1;

        await Assert.ThrowsAsync<InvalidDataException>(() => client.GetMetadataAsync(Hop(_origin, _target.Object(size))));
        await Assert.ThrowsAsync<InvalidDataException>(() => client.GetMetadataAsync(_target.Object(size)));
    }

    /// <summary>A loopback Kestrel server: <c>/hop?to=</c> redirects, <c>/loop</c> redirects to itself, <c>/objects/{size}</c> serves content with ranges.</summary>
    private sealed class LoopbackServer : IAsyncDisposable
    {
        public const string CertificateSubject = "CN=localhost";
        private readonly WebApplication _app;

        private LoopbackServer(WebApplication app) => _app = app;

        public Uri BaseAddress { get; private set; } = null!;

        public string Origin => BaseAddress.GetLeftPart(UriPartial.Authority);

        public ConcurrentQueue<SeenRequest> Requests { get; } = new();

        public static byte[] Content(long first, long count)
        {
            var bytes = new byte[count];
            for (var i = 0; i < count; i++)
            {
                bytes[i] = FaultyObjectServer.ByteAt(first + i);
            }

            return bytes;
        }

        public Uri Object(long size) => new(BaseAddress, $"objects/{size.ToString(CultureInfo.InvariantCulture)}");

        public static async Task<LoopbackServer> StartAsync(bool https)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            using var certificate = https ? CreateCertificate() : null;
            builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null));
                }
            }));
            var app = builder.Build();
            var server = new LoopbackServer(app);
            app.Use(async (context, next) =>
            {
                server.Requests.Enqueue(new SeenRequest(
                    context.Request.Path + context.Request.QueryString,
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
                await next(context);
            });
            app.MapGet("/hop", (string to) => Results.Redirect(to));
            app.MapGet("/loop", () => Results.Redirect("/loop"));
            app.MapGet("/objects/{size:long}", (long size, HttpContext context) => ServeAsync(context, size, lie: null));
            app.MapGet("/wrong-range/{size:long}", (long size, HttpContext context) => ServeAsync(context, size, lie: "range"));
            app.MapGet("/short/{size:long}", (long size, HttpContext context) => ServeAsync(context, size, lie: "short"));
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var uri = new UriBuilder(address) { Host = https ? "localhost" : "127.0.0.1" }.Uri;
            server.BaseAddress = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private static async Task ServeAsync(HttpContext context, long size, string? lie)
        {
            var first = 0L;
            var range = context.Request.Headers.Range.ToString();
            if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            {
                first = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            }

            var count = size - first;
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = count;
            if (first > 0)
            {
                context.Response.StatusCode = 206;
                var shown = lie == "range" ? first + 1 : first;
                context.Response.Headers.ContentRange = $"bytes {shown}-{size - 1}/{size}";
            }

            var sent = lie == "short" ? count / 2 : count;
            await context.Response.Body.WriteAsync(Content(first, sent));
            if (sent < count)
            {
                await context.Response.Body.FlushAsync();
                context.Abort();
            }
        }

        private static X509Certificate2 CreateCertificate()
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest(CertificateSubject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
            var now = TimeProvider.System.GetUtcNow();
            return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        }
    }

    private sealed record SeenRequest(string PathAndQuery, Dictionary<string, string> Headers);
}

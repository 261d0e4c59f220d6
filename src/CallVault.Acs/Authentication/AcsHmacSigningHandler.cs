using System.Net.Http.Headers;
using CallVault.Acs.Hosts;
using CallVault.Acs.Http;
using CallVault.Acs.Internal;
using Microsoft.Extensions.Options;

namespace CallVault.Acs.Authentication;

/// <summary>
/// Signs each request with the ACS access key (HMAC-SHA256), exactly as the Azure SDK for .NET does, after checking
/// the destination against the host allow-list.
/// </summary>
/// <remarks>
/// <para>A request to the ACS endpoint is signed with its own authority and path-and-query. A request to any other
/// allowed host (the media storage host of a <c>contentLocation</c>) is signed as if it went to the ACS endpoint: the
/// endpoint's authority, the request's path without its query, and an <c>x-ms-host</c> header naming the endpoint.
/// Both official SDKs (.NET and JavaScript) sign recording downloads and deletes this way, and ACS answers 401 to a
/// request signed with the storage host instead.</para>
/// <para>The key and allow-list are re-read from options on every request; the clock comes from
/// <see cref="TimeProvider"/>.</para>
/// </remarks>
public sealed class AcsHmacSigningHandler : DelegatingHandler
{
    private static readonly string[] AuthenticationHeaders =
        ["Authorization", AcsHmacSigner.DateHeader, AcsHmacSigner.ContentHashHeader, AcsHmacSigner.HostOverrideHeader];

    private readonly AcsCredentialCache _credentials;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the handler.</summary>
    /// <param name="options">Source of the connection string, allow-list and signing scheme.</param>
    /// <param name="timeProvider">Source of the signed date.</param>
    public AcsHmacSigningHandler(IOptionsMonitor<AcsClientOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _credentials = new AcsCredentialCache(options);
        _timeProvider = timeProvider;
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (var header in AuthenticationHeaders)
        {
            request.Headers.Remove(header);
        }

        if (request.Options.TryGetValue(AcsRequestOptionKeys.SendWithoutCredentials, out var withoutCredentials) && withoutCredentials)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var (credential, allowList) = _credentials.Current;
        allowList.EnsureAllowed(uri, credential.Endpoint);

        var contentHash = AcsHmacSigner.EmptyContentHash;
        if (request.Content is not null)
        {
            // ReadAsByteArrayAsync buffers the content, so the same bytes are hashed and then sent.
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            contentHash = AcsHmacSigner.ComputeContentHash(body);
        }

        string signedHost;
        string signedPath;
        if (AcsHostAllowList.SameOrigin(uri, credential.Endpoint))
        {
            signedHost = uri.Authority;
            signedPath = uri.PathAndQuery;
        }
        else
        {
            signedHost = credential.Endpoint.Authority;
            // As the SDK does: the endpoint URL with the storage path appended; the storage query is not signed.
            signedPath = new Uri(credential.Endpoint.AbsoluteUri + uri.AbsolutePath.TrimStart('/')).PathAndQuery;
            request.Headers.TryAddWithoutValidation(AcsHmacSigner.HostOverrideHeader, signedHost);
        }

        var scheme = _credentials.Options.SigningScheme;
        var now = _timeProvider.GetUtcNow();
        var date = AcsHmacSigner.FormatDate(now);
        var stringToSign = AcsHmacSigner.BuildStringToSign(request.Method.Method, signedPath, date, signedHost, contentHash);
        var signature = AcsHmacSigner.ComputeSignature(credential.AccessKey, stringToSign);

        // Both date headers go out, as the .NET SDK sends them; the scheme decides which one is signed.
        request.Headers.TryAddWithoutValidation(AcsHmacSigner.DateHeader, date);
        request.Headers.Date = now;
        request.Headers.TryAddWithoutValidation(AcsHmacSigner.ContentHashHeader, contentHash);
        request.Headers.Authorization = new AuthenticationHeaderValue(
            AcsHmacSigner.AuthorizationScheme,
            AcsHmacSigner.BuildAuthorizationParameter(scheme, signature));

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}

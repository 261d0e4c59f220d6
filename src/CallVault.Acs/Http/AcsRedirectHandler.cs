using System.Net;
using CallVault.Acs.Authentication;
using CallVault.Acs.Hosts;
using CallVault.Acs.Internal;
using Microsoft.Extensions.Options;

namespace CallVault.Acs.Http;

/// <summary>
/// Follows redirects itself instead of letting the socket handler do it, so that each hop is checked and signed (or
/// not) on its own. A hop is followed only to a URL the host allow-list accepts (<see cref="AcsHostAllowList"/>:
/// https on the ACS endpoint, the ACS media hosts or a configured host; plain http only to an origin configured
/// exactly, such as the local emulator's) and never from https down to http; anything else fails with
/// <see cref="AcsHostNotAllowedException"/> before a byte is sent. A hop to the same origin is signed again; a hop to
/// another origin goes out with no ACS credentials at all. Only GET, HEAD and DELETE are followed; at most
/// <see cref="MaxRedirects"/> hops, after which the last redirect is returned as the answer. The response of the last
/// hop is what the caller checks, so a redirected download passes the same size and range checks as a direct one.
/// </summary>
public sealed class AcsRedirectHandler : DelegatingHandler
{
    /// <summary>The most hops followed for one request. 5.</summary>
    public const int MaxRedirects = 5;

    /// <summary>Headers that carry or prove the ACS credentials: never copied from one hop to the next.</summary>
    private static readonly string[] CredentialHeaders =
        ["Authorization", AcsHmacSigner.DateHeader, AcsHmacSigner.ContentHashHeader, AcsHmacSigner.HostOverrideHeader];

    private readonly AcsCredentialCache _credentials;

    /// <summary>Creates the handler.</summary>
    /// <param name="options">Source of the ACS endpoint and the host allow-list, re-read for every redirect.</param>
    public AcsRedirectHandler(IOptionsMonitor<AcsClientOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _credentials = new AcsCredentialCache(options);
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var origin = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        for (var hop = 0; hop < MaxRedirects && IsFollowable(request, response, out var location); hop++)
        {
            var from = request.RequestUri!;
            var target = location.IsAbsoluteUri ? location : new Uri(from, location);
            if (Refusal(from, target) is { } reason)
            {
                response.Dispose();
                throw new AcsHostNotAllowedException(from, target, reason);
            }

            var next = new HttpRequestMessage(request.Method, target) { Version = request.Version, VersionPolicy = request.VersionPolicy };
            foreach (var header in request.Headers)
            {
                if (!CredentialHeaders.Contains(header.Key, StringComparer.OrdinalIgnoreCase))
                {
                    next.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            if (!AcsHostAllowList.SameOrigin(target, origin))
            {
                next.Options.Set(AcsRequestOptionKeys.SendWithoutCredentials, true);
            }

            response.Dispose();
            if (hop > 0)
            {
                // Hops this handler created are its own to dispose; the caller's request is the caller's.
                request.Dispose();
            }

            request = next;
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>Why a redirect from <paramref name="from"/> to <paramref name="target"/> is not followed, or null.</summary>
    private string? Refusal(Uri from, Uri target)
    {
        if (target.Scheme != Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttp)
        {
            return $"only https is followed, not '{target.Scheme}'";
        }

        if (from.Scheme == Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttps)
        {
            return "a redirect from https to plain http is never followed";
        }

        var (credential, allowList) = _credentials.Current;
        return allowList.IsAllowed(target, credential.Endpoint, out var reason) ? null : reason;
    }

    private static bool IsFollowable(HttpRequestMessage request, HttpResponseMessage response, out Uri location)
    {
        location = null!;
        var followable = response.StatusCode is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;
        if (!followable || response.Headers.Location is null || request.Content is not null)
        {
            return false;
        }

        if (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head && request.Method != HttpMethod.Delete)
        {
            return false;
        }

        location = response.Headers.Location;
        return true;
    }
}

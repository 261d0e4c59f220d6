using System.Net;
using CallVault.Acs.Hosts;

namespace CallVault.Acs.Http;

/// <summary>
/// Follows redirects itself instead of letting the socket handler do it, so that each hop is signed (or not) on its
/// own: a hop to the same origin is signed again; a hop to another origin goes out with no ACS credentials at all.
/// Only GET, HEAD and DELETE are followed; at most <see cref="MaxRedirects"/> hops.
/// </summary>
public sealed class AcsRedirectHandler : DelegatingHandler
{
    /// <summary>The most hops followed for one request. 5.</summary>
    public const int MaxRedirects = 5;

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var origin = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        for (var hop = 0; hop < MaxRedirects && IsFollowable(request, response, out var location); hop++)
        {
            var target = location.IsAbsoluteUri ? location : new Uri(request.RequestUri!, location);
            if (target.Scheme != Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttp)
            {
                break;
            }

            var next = new HttpRequestMessage(request.Method, target) { Version = request.Version, VersionPolicy = request.VersionPolicy };
            foreach (var header in request.Headers)
            {
                next.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            if (!AcsHostAllowList.SameOrigin(target, origin))
            {
                next.Options.Set(AcsRequestOptionKeys.SendWithoutCredentials, true);
            }

            response.Dispose();
            request = next;
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return response;
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

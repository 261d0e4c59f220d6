using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Web;

namespace CallVault.Acs.Authentication;

/// <summary>The parts of a received request that an ACS HMAC signature covers.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The raw, still-escaped request path.</param>
/// <param name="Query">The raw query string with its leading <c>?</c>, or empty.</param>
/// <param name="Host">The <c>Host</c> header as received.</param>
/// <param name="HostOverride">The <c>x-ms-host</c> header, when present.</param>
/// <param name="MsDate">The <c>x-ms-date</c> header, when present.</param>
/// <param name="Date">The <c>Date</c> header, when present.</param>
/// <param name="ContentHash">The <c>x-ms-content-sha256</c> header, when present.</param>
/// <param name="Authorization">The <c>Authorization</c> header, when present.</param>
/// <param name="BodyHash">The base64 SHA-256 of the body actually received.</param>
public sealed record AcsSignedRequest(
    string Method,
    string Path,
    string Query,
    string? Host,
    string? HostOverride,
    string? MsDate,
    string? Date,
    string? ContentHash,
    string? Authorization,
    string BodyHash);

/// <summary>Which check an ACS signature failed.</summary>
public enum AcsSignatureFailure
{
    /// <summary>The signature is valid.</summary>
    None,

    /// <summary>No <c>Authorization</c> header, or not of the <c>HMAC-SHA256 SignedHeaders=...&amp;Signature=...</c> form.</summary>
    MalformedAuthorization,

    /// <summary>The signed headers are neither the current nor (where allowed) the 2021-preview list.</summary>
    UnsupportedSignedHeaders,

    /// <summary>No date header, or one that is not an HTTP date.</summary>
    MissingOrInvalidDate,

    /// <summary>The date is further from the server's clock than the allowed window.</summary>
    DateOutsideWindow,

    /// <summary>The <c>x-ms-content-sha256</c> header is missing or does not match the body.</summary>
    ContentHashMismatch,

    /// <summary>No string to sign built from the request gives the signature.</summary>
    SignatureMismatch,
}

/// <summary>The outcome of checking a signature.</summary>
/// <param name="Failure">Which check failed, or <see cref="AcsSignatureFailure.None"/>.</param>
/// <param name="Detail">A sentence for the 401 body; never contains the key or the expected signature.</param>
public sealed record AcsSignatureCheck(AcsSignatureFailure Failure, string Detail)
{
    /// <summary>Whether the signature is valid.</summary>
    public bool IsValid => Failure == AcsSignatureFailure.None;
}

/// <summary>
/// Verifies ACS HMAC-SHA256 signatures the way the ACS download API does, accepting every variant the official SDKs
/// send: the signed host from <c>x-ms-host</c> before <c>Host</c>; the path alone or with its query (the .NET download
/// signer drops the query); the JavaScript SDK's query as <c>URLSearchParams</c> re-serialises it, the lone <c>?</c>
/// an older JavaScript version signed when there was no query, and the <c>host:port:port</c> that
/// <c>@azure/communication-common</c> 2.0 to 2.3 signed on a non-default port; and, when allowed, the 2021-preview
/// <c>date;host;x-ms-content-sha256</c> form. Signatures are compared in constant time.
/// </summary>
public static partial class AcsHmacVerifier
{
    /// <summary>The default tolerated clock difference: 15 minutes.</summary>
    public static readonly TimeSpan DefaultDateWindow = TimeSpan.FromMinutes(15);

    /// <summary>Checks a request's signature.</summary>
    /// <param name="request">What was received.</param>
    /// <param name="accessKey">The decoded access key.</param>
    /// <param name="now">The server's clock.</param>
    /// <param name="dateWindow">The largest accepted difference between the signed date and <paramref name="now"/>.</param>
    /// <param name="allowPreview2021">Whether the 2021-preview signed-header list is accepted.</param>
    public static AcsSignatureCheck Verify(AcsSignedRequest request, ReadOnlySpan<byte> accessKey, DateTimeOffset now, TimeSpan dateWindow, bool allowPreview2021 = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        var match = request.Authorization is null ? Match.Empty : AuthorizationPattern().Match(request.Authorization);
        if (!match.Success)
        {
            return new(AcsSignatureFailure.MalformedAuthorization, "The Authorization header must be 'HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>'.");
        }

        var signedHeaders = match.Groups["headers"].Value;
        string? date;
        if (signedHeaders.Equals(AcsHmacSigner.SignedHeaders(AcsSigningScheme.Current), StringComparison.OrdinalIgnoreCase))
        {
            date = request.MsDate ?? request.Date;
        }
        else if (allowPreview2021 && signedHeaders.Equals(AcsHmacSigner.SignedHeaders(AcsSigningScheme.Preview2021), StringComparison.OrdinalIgnoreCase))
        {
            date = request.Date ?? request.MsDate;
        }
        else
        {
            return new(AcsSignatureFailure.UnsupportedSignedHeaders, $"SignedHeaders '{signedHeaders}' is not supported; sign 'x-ms-date;host;x-ms-content-sha256'.");
        }

        if (date is null || !DateTimeOffset.TryParseExact(date, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return new(AcsSignatureFailure.MissingOrInvalidDate, "The x-ms-date header is missing or is not an RFC 1123 date such as 'Tue, 03 Mar 2026 10:15:30 GMT'.");
        }

        var skew = (now - signedAt).Duration();
        if (skew > dateWindow)
        {
            return new(AcsSignatureFailure.DateOutsideWindow, $"The request date '{date}' is {skew.TotalMinutes:0.#} minutes from the server's clock; at most {dateWindow.TotalMinutes:0.#} are allowed. Check the client's clock.");
        }

        if (request.ContentHash is null || !string.Equals(request.ContentHash, request.BodyHash, StringComparison.Ordinal))
        {
            return new(AcsSignatureFailure.ContentHashMismatch, "The x-ms-content-sha256 header is missing or is not the base64 SHA-256 of the body.");
        }

        Span<byte> presented = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(match.Groups["signature"].Value, presented, out var written) || written != presented.Length)
        {
            return new(AcsSignatureFailure.SignatureMismatch, "The signature is not a base64 HMAC-SHA256 value.");
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        var matched = false;
        foreach (var host in CandidateHosts(request.HostOverride ?? request.Host ?? string.Empty))
        {
            foreach (var pathAndQuery in CandidatePaths(request.Path, request.Query))
            {
                var stringToSign = AcsHmacSigner.BuildStringToSign(request.Method, pathAndQuery, date, host, request.ContentHash);
                HMACSHA256.HashData(accessKey, System.Text.Encoding.ASCII.GetBytes(stringToSign), expected);

                // Every candidate is computed and compared so that timing does not tell which one matched.
                matched |= CryptographicOperations.FixedTimeEquals(expected, presented);
            }
        }

        return matched
            ? new(AcsSignatureFailure.None, "The signature is valid.")
            : new(AcsSignatureFailure.SignatureMismatch, "The signature does not match. Check the access key, and that the host signed is the ACS endpoint's (sent as x-ms-host when the request goes to the media storage host).");
    }

    private static IEnumerable<string> CandidateHosts(string host)
    {
        yield return host;

        // @azure/communication-common 2.0 to 2.3 signed `${url.host}:${url.port}`, and url.host already holds a
        // non-default port; 2.4 signs url.host alone.
        var colon = host.LastIndexOf(':');
        if (colon > 0 && host.IndexOf(']', StringComparison.Ordinal) < colon)
        {
            yield return host + host[colon..];
        }
    }

    private static IEnumerable<string> CandidatePaths(string path, string query)
    {
        var basePath = string.IsNullOrEmpty(path) ? "/" : path;
        yield return basePath;
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            // An older JS SDK always added '?', even with no query.
            yield return basePath + "?";
            yield break;
        }

        yield return basePath + query;

        // JS re-serialises the query through URLSearchParams (a space becomes '+').
        var reserialized = Reserialize(query);
        if (!string.Equals(reserialized, query, StringComparison.Ordinal))
        {
            yield return basePath + reserialized;
        }
    }

    private static string Reserialize(string query)
    {
        var parsed = HttpUtility.ParseQueryString(query.TrimStart('?'));
        var pairs = new List<string>();
        foreach (var key in parsed.AllKeys)
        {
            foreach (var value in parsed.GetValues(key) ?? [])
            {
                pairs.Add(key is null ? HttpUtility.UrlEncode(value) : $"{HttpUtility.UrlEncode(key)}={HttpUtility.UrlEncode(value)}");
            }
        }

        return "?" + string.Join('&', pairs);
    }

    [GeneratedRegex(@"^HMAC-SHA256\s+SignedHeaders=(?<headers>[^&]+)&Signature=(?<signature>.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex AuthorizationPattern();
}

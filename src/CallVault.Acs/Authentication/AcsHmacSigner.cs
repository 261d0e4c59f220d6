using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CallVault.Acs.Authentication;

/// <summary>
/// The pieces of the ACS HMAC-SHA256 scheme, byte-for-byte as the Azure SDK for .NET computes them.
/// Pure functions: no clock, no I/O. <see cref="AcsHmacSigningHandler"/> and <see cref="AcsHmacVerifier"/> are built on them.
/// </summary>
public static class AcsHmacSigner
{
    /// <summary>Base64 SHA-256 of an empty body, sent on every GET and DELETE.</summary>
    public const string EmptyContentHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    /// <summary>The authorization scheme name.</summary>
    public const string AuthorizationScheme = "HMAC-SHA256";

    /// <summary>Header carrying the request time in RFC 1123 form.</summary>
    public const string DateHeader = "x-ms-date";

    /// <summary>Header carrying the base64 SHA-256 of the body.</summary>
    public const string ContentHashHeader = "x-ms-content-sha256";

    /// <summary>Header naming the ACS resource authority when the request goes to the media storage host.</summary>
    public const string HostOverrideHeader = "x-ms-host";

    /// <summary>The value of <c>SignedHeaders</c> for a scheme.</summary>
    public static string SignedHeaders(AcsSigningScheme scheme) => scheme switch
    {
        AcsSigningScheme.Current => "x-ms-date;host;x-ms-content-sha256",
        AcsSigningScheme.Preview2021 => "date;host;x-ms-content-sha256",
        _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "Unknown signing scheme."),
    };

    /// <summary>Base64 SHA-256 of the body bytes.</summary>
    public static string ComputeContentHash(ReadOnlySpan<byte> body)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, hash);
        return Convert.ToBase64String(hash);
    }

    /// <summary>The request time as signed: RFC 1123 in UTC, e.g. <c>Tue, 03 Mar 2026 10:15:30 GMT</c>.</summary>
    public static string FormatDate(DateTimeOffset time) => time.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>{METHOD}\n{pathAndQuery}\n{date};{host};{contentHash}</c>, with no trailing newline.
    /// </summary>
    /// <param name="method">The HTTP method; upper-cased here.</param>
    /// <param name="pathAndQuery">The escaped path, plus <c>?query</c> when one is signed.</param>
    /// <param name="date">The value of the signed date header.</param>
    /// <param name="host">The signed authority: host, plus <c>:port</c> only for a non-default port.</param>
    /// <param name="contentHash">The base64 body hash.</param>
    public static string BuildStringToSign(string method, string pathAndQuery, string date, string host, string contentHash)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentException.ThrowIfNullOrEmpty(pathAndQuery);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{method.ToUpperInvariant()}\n{pathAndQuery}\n{date};{host};{contentHash}");
    }

    /// <summary>Base64 HMAC-SHA256 of the ASCII string to sign, keyed with the decoded access key.</summary>
    public static string ComputeSignature(ReadOnlySpan<byte> accessKey, string stringToSign)
    {
        ArgumentNullException.ThrowIfNull(stringToSign);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(accessKey, Encoding.ASCII.GetBytes(stringToSign), mac);
        return Convert.ToBase64String(mac);
    }

    /// <summary>The parameter of the <c>Authorization</c> header after the scheme name.</summary>
    public static string BuildAuthorizationParameter(AcsSigningScheme scheme, string signature) =>
        $"SignedHeaders={SignedHeaders(scheme)}&Signature={signature}";
}

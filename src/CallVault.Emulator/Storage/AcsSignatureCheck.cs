using System.Security.Cryptography;
using CallVault.Acs.Authentication;

namespace CallVault.Emulator.Storage;

/// <summary>
/// Checks the HMAC signature of a download or delete request as ACS does. On the media storage host the
/// signed host must be the ACS endpoint's, sent as <c>x-ms-host</c>: signing the storage host is the classic mistake
/// that real ACS answers with 401, and so does the emulator.
/// </summary>
public sealed class AcsSignatureCheck(EmulatorContext emulator)
{
    /// <summary>Null when the request is correctly signed; otherwise the 401 to answer with.</summary>
    public async Task<IResult?> RejectUnlessSignedAsync(HttpContext context)
    {
        var request = context.Request;
        var body = await ReadBodyHashAsync(request, context.RequestAborted);
        var check = AcsHmacVerifier.Verify(
            SignedRequestOf(request, body),
            emulator.AccessKey.Span,
            emulator.TimeProvider.GetUtcNow(),
            emulator.Options.DateWindow,
            allowPreview2021: true);
        if (!check.IsValid)
        {
            return Unauthorized(check.Failure.ToString(), check.Detail);
        }

        // A valid signature for another host is still refused: ACS only accepts its own identity.
        var signedHost = request.Headers["x-ms-host"].FirstOrDefault() ?? request.Headers.Host.ToString();
        return string.Equals(signedHost, emulator.Endpoint.Authority, StringComparison.OrdinalIgnoreCase)
            ? null
            : Unauthorized(
                "HostMismatch",
                $"The signed host is '{signedHost}', but requests must be signed for the ACS endpoint '{emulator.Endpoint.Authority}' (send it as x-ms-host when the request goes to the media storage host).");
    }

    /// <summary>The parts of an ASP.NET request that an ACS signature covers.</summary>
    /// <param name="request">The request as received.</param>
    /// <param name="bodyHash">The base64 SHA-256 of its body.</param>
    public static AcsSignedRequest SignedRequestOf(HttpRequest request, string bodyHash)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new AcsSignedRequest(
            request.Method,
            request.Path.ToUriComponent(),
            request.QueryString.Value ?? string.Empty,
            request.Headers.Host.ToString(),
            request.Headers["x-ms-host"].FirstOrDefault(),
            request.Headers["x-ms-date"].FirstOrDefault(),
            request.Headers.Date.FirstOrDefault(),
            request.Headers["x-ms-content-sha256"].FirstOrDefault(),
            request.Headers.Authorization.FirstOrDefault(),
            bodyHash);
    }

    private static async Task<string> ReadBodyHashAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }

        return Convert.ToBase64String(hash.GetHashAndReset());
    }

    private static IResult Unauthorized(string failedCheck, string detail) => Results.Json(
        new
        {
            type = "https://tools.ietf.org/html/rfc7235#section-3.1",
            title = "Unauthorized",
            status = 401,
            detail,
            failedCheck,
            message = "Unauthorized",
            traceId = $"00-{Guid.NewGuid():N}-{Guid.NewGuid().ToString("N")[..16]}-00",
        },
        statusCode: 401,
        contentType: "application/problem+json");
}

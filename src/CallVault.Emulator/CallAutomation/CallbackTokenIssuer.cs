using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CallVault.Emulator.CallAutomation;

/// <summary>
/// Signs the bearer token of each Call Automation callback, as ACS does: a JWT (RS256, with a <c>kid</c>) from the
/// emulator's own RSA key, issued by the emulator's endpoint, for the resource's immutable id, valid 5 minutes.
/// The key is published as a JWKS behind an OpenID configuration, so a receiver validates these tokens by standard
/// discovery exactly as it validates ACS's.
/// </summary>
public sealed class CallbackTokenIssuer : IDisposable
{
    /// <summary>How long a callback token is valid: 5 minutes, as ACS's.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private readonly RSA _key = RSA.Create(2048);
    private readonly TimeProvider _timeProvider;

    internal CallbackTokenIssuer(Uri endpoint, string audience, TimeProvider timeProvider)
    {
        // ACS's issuer is its Call Automation host without a path; the emulator's is its endpoint's origin.
        Issuer = endpoint.GetLeftPart(UriPartial.Authority);
        Audience = audience;
        OpenIdConfigurationUri = new Uri(endpoint, ".well-known/openid-configuration");
        KeysUri = new Uri(endpoint, "calling/keys");
        _timeProvider = timeProvider;
        var parameters = _key.ExportParameters(includePrivateParameters: false);
        KeyId = Base64Url(SHA256.HashData(parameters.Modulus!))[..16];
    }

    /// <summary>The <c>iss</c> of every token: the endpoint's origin, e.g. <c>http://127.0.0.1:5271</c>.</summary>
    public string Issuer { get; }

    /// <summary>The <c>aud</c> of every token: the resource's immutable id.</summary>
    public string Audience { get; }

    /// <summary>The <c>kid</c> of the signing key.</summary>
    public string KeyId { get; }

    /// <summary>Where the OpenID configuration is served.</summary>
    public Uri OpenIdConfigurationUri { get; }

    /// <summary>Where the JWKS is served.</summary>
    public Uri KeysUri { get; }

    /// <summary>A new token, valid from now for <see cref="Lifetime"/>.</summary>
    public string CreateToken()
    {
        var now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var header = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["alg"] = "RS256", ["kid"] = KeyId, ["typ"] = "JWT" });
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + (long)Lifetime.TotalSeconds,
            ["jti"] = Guid.NewGuid().ToString("N"),
        });
        var signingInput = $"{Base64Url(header)}.{Base64Url(payload)}";
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    /// <summary>The OpenID configuration document: issuer, JWKS location and algorithm.</summary>
    public object OpenIdConfiguration() => new Dictionary<string, object>
    {
        ["issuer"] = Issuer,
        ["jwks_uri"] = KeysUri.AbsoluteUri,
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        ["token_endpoint_auth_signing_alg_values_supported"] = new[] { "RS256" },
    };

    /// <summary>The JWKS: the public half of the signing key.</summary>
    public object Keys()
    {
        var parameters = _key.ExportParameters(includePrivateParameters: false);
        return new
        {
            keys = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA",
                    ["use"] = "sig",
                    ["alg"] = "RS256",
                    ["kid"] = KeyId,
                    ["n"] = Base64Url(parameters.Modulus!),
                    ["e"] = Base64Url(parameters.Exponent!),
                },
            },
        };
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

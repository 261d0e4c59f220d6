using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CallVault.Server.Tests;

/// <summary>
/// A stand-in for ACS's callback token issuer: an OpenID configuration and a JWKS served over loopback, and tokens
/// signed with its RSA key (or, to test refusals, with another key, for another audience, or expired).
/// </summary>
public sealed class CallbackTokenIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _otherKey = RSA.Create(2048);

    private CallbackTokenIssuer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string Issuer => BaseAddress.AbsoluteUri.TrimEnd('/');

    public Uri MetadataAddress => new(BaseAddress, ".well-known/openid-configuration");

    public string Audience { get; } = Guid.NewGuid().ToString("D");

    public static async Task<CallbackTokenIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        CallbackTokenIssuer? issuer = null;
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer!.Issuer,
            ["jwks_uri"] = new Uri(issuer.BaseAddress, "keys").AbsoluteUri,
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/keys", () =>
        {
            var parameters = issuer!._key.ExportParameters(false);
            return Results.Json(new
            {
                keys = new[]
                {
                    new Dictionary<string, string>
                    {
                        ["kty"] = "RSA",
                        ["use"] = "sig",
                        ["alg"] = "RS256",
                        ["kid"] = "callback-key",
                        ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
                        ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                    },
                },
            });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        issuer = new CallbackTokenIssuer(app, new Uri(address.TrimEnd('/') + "/"));
        return issuer;
    }

    /// <summary>A token as ACS would send it: valid 5 minutes from now, for <see cref="Audience"/>.</summary>
    public string Token(string? audience = null, DateTimeOffset? expires = null, bool otherKey = false, string? issuer = null)
    {
        var expiry = expires ?? TimeProvider.System.GetUtcNow().AddMinutes(5);
        var key = new RsaSecurityKey(otherKey ? _otherKey : _key) { KeyId = "callback-key" };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? Audience,
            IssuedAt = expiry.AddMinutes(-5).UtcDateTime,
            NotBefore = expiry.AddMinutes(-5).UtcDateTime,
            Expires = expiry.UtcDateTime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
        _otherKey.Dispose();
    }
}

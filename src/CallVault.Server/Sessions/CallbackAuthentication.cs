using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CallVault.Server.Sessions;

/// <summary>
/// Authenticates Call Automation callbacks: a bearer token validated by OpenID Connect discovery (issuer and signing
/// keys from <see cref="RecordingControlOptions.CallbackMetadataAddress"/>, audience
/// <see cref="RecordingControlOptions.CallbackAudience"/>, lifetime), or, where configured, a shared secret. The
/// token scheme is used by <c>/api/callbacks</c> alone and is never a default scheme.
/// </summary>
internal static class CallbackAuthentication
{
    /// <summary>The authentication scheme of the callback token.</summary>
    public const string Scheme = "AcsCallback";

    /// <summary>Tokens live 5 minutes; this much clock difference between ACS and this machine is tolerated.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    public static IServiceCollection AddCallbackAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication().AddJwtBearer(Scheme, _ => { });
        services.AddOptions<JwtBearerOptions>(Scheme).Configure<IOptions<RecordingControlOptions>>((jwt, recording) =>
        {
            var options = recording.Value;
            jwt.MetadataAddress = options.CallbackMetadataAddress.AbsoluteUri;
            // Start-up validation allows http only for a loopback address (the emulator's).
            jwt.RequireHttpsMetadata = !options.CallbackMetadataAddress.IsLoopback;
            jwt.MapInboundClaims = false;
            jwt.SaveToken = false;
            jwt.TokenValidationParameters = new TokenValidationParameters
            {
                // The issuer and the signing keys come from the OpenID configuration.
                ValidateIssuer = true,
                ValidateIssuerSigningKey = true,
                ValidateAudience = true,
                ValidAudience = string.IsNullOrWhiteSpace(options.CallbackAudience) ? null : options.CallbackAudience,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                ClockSkew = ClockSkew,
            };
        });
        return services;
    }

    /// <summary>Whether a callback request carries a valid token, or a configured secret.</summary>
    public static async Task<bool> IsAuthenticAsync(HttpContext context, RecordingControlOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.CallbackAudience) && context.Request.Headers.Authorization.Count > 0)
        {
            var result = await context.AuthenticateAsync(Scheme);
            if (result.Succeeded)
            {
                return true;
            }
        }

        var presented = context.Request.Query[RecordingControlOptions.SecretQueryParameter].FirstOrDefault();
        var matched = false;
        foreach (var secret in options.CallbackSecrets.Where(s => !string.IsNullOrEmpty(s)))
        {
            matched |= CallVault.Security.SecretComparison.AreEqual(secret, presented);
        }

        return matched;
    }
}

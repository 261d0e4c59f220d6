namespace CallVault.Server.Hosting;

/// <summary>
/// Headers on every answer that keep a browser from doing what the dashboard never needs: running inline or foreign
/// script, being framed, guessing content types, sending the address onwards, or caching recording data.
/// </summary>
internal static class SecurityHeaders
{
    /// <summary>
    /// Everything from this origin only; no inline script or style (the dashboard has none), no plugins, no framing, forms
    /// post only here and no &lt;base&gt; can redirect relative URLs.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; "
        + "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        if (context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            // API answers hold recordings, their metadata and who read them: no browser or proxy may keep a copy.
            headers.CacheControl = "no-store";
        }

        return next(context);
    });
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Server.Tests;

/// <summary>
/// A small reverse proxy on a dynamic loopback port, as nginx or Caddy on the same host would be: it forwards every
/// request to the service over loopback and adds <c>X-Forwarded-For</c> (the client it stands for) and
/// <c>X-Forwarded-Proto</c>. The service sees every request come from 127.0.0.1.
/// </summary>
public sealed class ForwardingProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;

    private ForwardingProxy(WebApplication app, HttpClient upstream, Uri baseAddress)
    {
        _app = app;
        _upstream = upstream;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress };
    }

    /// <summary>Where clients reach the proxy.</summary>
    public Uri BaseAddress { get; }

    /// <summary>A client of the proxy without cookies.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts a proxy to <paramref name="target"/> that says its clients come from <paramref name="clientAddress"/>.</summary>
    public static async Task<ForwardingProxy> StartAsync(Uri target, IPAddress clientAddress)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(clientAddress);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = target };
        var app = builder.Build();
        app.Run(context => ForwardAsync(context, upstream, clientAddress));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ForwardingProxy(app, upstream, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private static async Task ForwardAsync(HttpContext context, HttpClient upstream, IPAddress clientAddress)
    {
        var incoming = context.Request;
        using var request = new HttpRequestMessage(new HttpMethod(incoming.Method), incoming.Path.ToUriComponent().TrimStart('/') + incoming.QueryString.ToUriComponent());
        if (!HttpMethods.IsGet(incoming.Method) && !HttpMethods.IsHead(incoming.Method))
        {
            request.Content = new StreamContent(incoming.Body);
        }

        foreach (var (name, values) in incoming.Headers)
        {
            if (!HopByHop.Contains(name) && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        request.Headers.TryAddWithoutValidation("X-Forwarded-For", clientAddress.ToString());
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", incoming.Scheme);
        using var response = await upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}

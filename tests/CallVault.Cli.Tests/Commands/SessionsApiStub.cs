using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Cli.Tests.Commands;

/// <summary>A request the stub received: method, the raw (still escaped) path, the body and the headers that matter here.</summary>
internal sealed record StubRequest(string Method, string RawPath, string Body, string? ApiKey, string? CallVaultRequest);

/// <summary>
/// A loopback HTTP server that answers the session API's routes with canned JSON, so the CLI's requests and its
/// formatting are checked over real HTTP without a whole service. The service itself is exercised by the
/// end-to-end tests in CallVault.Server.Tests.
/// </summary>
internal sealed class SessionsApiStub : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SessionsApiStub(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<StubRequest> Received { get; } = new();

    /// <summary>Answers by <c>"METHOD /raw/path"</c>; anything else is a 404 problem.</summary>
    public ConcurrentDictionary<string, (int Status, string Json)> Answers { get; } = new(StringComparer.Ordinal);

    public static async Task<SessionsApiStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var stub = new SessionsApiStub(app);
        app.Run(stub.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return stub;
    }

    private async Task HandleAsync(HttpContext context)
    {
        // The raw target keeps %2F and the like as sent, which is what the escaping tests look at.
        var rawPath = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget.Split('?')[0];
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        Received.Enqueue(new StubRequest(
            context.Request.Method,
            rawPath,
            body,
            context.Request.Headers["X-Api-Key"].FirstOrDefault(),
            context.Request.Headers["X-CallVault-Request"].FirstOrDefault()));
        var (status, json) = Answers.TryGetValue($"{context.Request.Method} {rawPath}", out var answer)
            ? answer
            : (404, """{"title":"Not Found","status":404,"detail":"No such route in the stub."}""");
        context.Response.StatusCode = status;
        context.Response.ContentType = status >= 400 ? "application/problem+json" : "application/json";
        await context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using CallVault.Acs.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Acs.Tests.CallAutomation;

/// <summary>
/// A Kestrel server on loopback that records every request as received (raw target, headers, body, whether the HMAC
/// signature with the body hash verifies) and answers with scripted responses, in order; once the script is used up
/// it answers 200 with a recording state.
/// </summary>
internal sealed class CallAutomationStubServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly byte[] _key;

    private CallAutomationStubServer(WebApplication app, byte[] key)
    {
        _app = app;
        _key = key;
    }

    public Uri Endpoint { get; private set; } = null!;

    public ConcurrentQueue<(int Status, string Body)> Script { get; } = new();

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    public static async Task<CallAutomationStubServer> StartAsync(byte[] key)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new CallAutomationStubServer(app, key);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Endpoint = new Uri(address + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var bytes = body.ToArray();
        var rawTarget = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = queryStart < 0 ? rawTarget : rawTarget[..queryStart];
        var query = queryStart < 0 ? string.Empty : rawTarget[queryStart..];
        var request = context.Request;
        var check = AcsHmacVerifier.Verify(
            new AcsSignedRequest(
                request.Method,
                path,
                query,
                request.Headers.Host.ToString(),
                request.Headers["x-ms-host"].FirstOrDefault(),
                request.Headers["x-ms-date"].FirstOrDefault(),
                request.Headers.Date.FirstOrDefault(),
                request.Headers["x-ms-content-sha256"].FirstOrDefault(),
                request.Headers.Authorization.FirstOrDefault(),
                Convert.ToBase64String(SHA256.HashData(bytes))),
            _key,
            TimeProvider.System.GetUtcNow(),
            AcsHmacVerifier.DefaultDateWindow,
            allowPreview2021: false);
        Requests.Enqueue(new ReceivedRequest(
            request.Method,
            rawTarget,
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            bytes,
            check.IsValid));

        var (status, answer) = Script.TryDequeue(out var scripted)
            ? scripted
            : (200, """{"recordingId":"rec-1","recordingState":"active","recordingKind":"azureCommunicationServices"}""");
        context.Response.StatusCode = status;
        if (answer.Length > 0)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer, context.RequestAborted);
        }
    }

    public sealed record ReceivedRequest(string Method, string RawTarget, IReadOnlyDictionary<string, string> Headers, byte[] Body, bool SignatureValid);
}

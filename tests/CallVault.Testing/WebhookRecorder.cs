using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Testing;

/// <summary>A request the webhook received.</summary>
public sealed record ReceivedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body, int AnsweredStatus);

/// <summary>
/// A webhook on loopback that records every request and answers as a test tells it to: by default it completes the
/// Event Grid validation handshake (echoing the code, or consenting to the CloudEvents OPTIONS) and answers 200.
/// </summary>
public sealed class WebhookRecorder : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookRecorder(WebApplication app) => _app = app;

    /// <summary>The webhook's URL, e.g. <c>http://127.0.0.1:41234/api/events</c>.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>Statuses to answer notifications with, one per request; when empty, 200.</summary>
    public ConcurrentQueue<int> NotificationStatuses { get; } = new();

    /// <summary>Whether the validation event is answered with its code (true) or with an empty 200 (false, manual validation).</summary>
    public bool EchoValidationCode { get; set; } = true;

    /// <summary>The status of every answer when set, handshakes included.</summary>
    public int? ForcedStatus { get; set; }

    /// <summary>The notification requests (not handshakes).</summary>
    public IReadOnlyList<ReceivedRequest> Notifications =>
        [.. Received.Where(r => r.Method == "POST" && r.Headers.GetValueOrDefault("aeg-event-type") == "Notification")];

    public static async Task<WebhookRecorder> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var recorder = new WebhookRecorder(app);
        app.Map("/api/events", recorder.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        recorder.Url = new Uri(address + "/api/events");
        return recorder;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; false after the timeout.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > timeout)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>
    /// Waits until the asynchronous <paramref name="condition"/> holds, polling; false after the timeout. The condition
    /// is awaited, never blocked on, and its token is cancelled at the deadline, so a request that hangs cannot hold
    /// the wait past <paramref name="timeout"/>.
    /// </summary>
    public static async Task<bool> WaitUntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (!await condition(deadline.Token))
            {
                await Task.Delay(20, deadline.Token);
            }

            return true;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var status = ForcedStatus ?? 200;
        if (ForcedStatus is null)
        {
            if (context.Request.Method == "OPTIONS")
            {
                context.Response.Headers["WebHook-Allowed-Origin"] = context.Request.Headers["WebHook-Request-Origin"].ToString();
                context.Response.Headers["WebHook-Allowed-Rate"] = "*";
            }
            else if (headers.GetValueOrDefault("aeg-event-type") == "SubscriptionValidation")
            {
                if (EchoValidationCode)
                {
                    var code = System.Text.Json.JsonDocument.Parse(body).RootElement[0].GetProperty("data").GetProperty("validationCode").GetString();
                    Received.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body, 200));
                    await context.Response.WriteAsJsonAsync(new { validationResponse = code });
                    return;
                }
            }
            else if (NotificationStatuses.TryDequeue(out var next))
            {
                status = next;
            }
        }

        Received.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body, status));
        context.Response.StatusCode = status;
    }
}

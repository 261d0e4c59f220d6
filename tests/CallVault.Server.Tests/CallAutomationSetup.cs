using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Server.Tests;

/// <summary>
/// The emulator and a CallVault service wired for recording control as against a real ACS resource: the service
/// starts recordings through the emulator's Call Automation routes, its callback URL is its own loopback address,
/// it validates the callback tokens through the emulator's OpenID configuration, and its webhook is subscribed to the
/// emulator's Event Grid.
/// </summary>
public sealed class CallAutomationSetup : IAsyncDisposable
{
    private CallAutomationSetup(AcsEmulator emulator, ServerUnderTest server)
    {
        Emulator = emulator;
        Server = server;
        Admin = new HttpClient { BaseAddress = emulator.AdminBase };
    }

    public AcsEmulator Emulator { get; }

    public ServerUnderTest Server { get; }

    /// <summary>The emulator's admin API.</summary>
    public HttpClient Admin { get; }

    /// <param name="filesMissingAfter">The files-missing window the service is configured with.</param>
    /// <remarks>
    /// The emulator runs on the system clock, as ACS and CallVault share real time: the service orders a session's
    /// changes by when they happened, API requests by its own clock and callbacks by ACS's, so an emulator clock that
    /// runs behind (a fake one) makes every callback look older than the requests before it.
    /// </remarks>
    public static async Task<CallAutomationSetup> StartAsync(TimeSpan filesMissingAfter)
    {
        var emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions
        {
            EndpointUrl = "http://127.0.0.1:0",
            StorageUrl = "http://127.0.0.1:0",
            TimeFactor = 0.001,
        });
        var server = await ServerUnderTest.StartAsync(emulator, settings =>
        {
            // As against a real resource: the token audience is the resource's immutable id, and the OpenID
            // configuration is where ACS publishes it, on the emulator's endpoint.
            settings["CallVault:Recording:CallbackAudience"] = AcsEmulatorOptions.DefaultResourceImmutableId;
            settings["CallVault:Recording:CallbackMetadataAddress"] = new Uri(emulator.Endpoint, "calling/.well-known/acsopenidconfiguration").AbsoluteUri;
            settings["CallVault:Recording:FilesMissingAfter"] = filesMissingAfter.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        });

        // The public base URL (where the emulator sends the callbacks) is the server's own address, known only once it
        // listens on its dynamic port; the sessions API reads the option at each start, so a reload is enough.
        var configuration = (IConfigurationRoot)server.Services.GetRequiredService<IConfiguration>();
        configuration["CallVault:Recording:PublicBaseUrl"] = server.BaseAddress.AbsoluteUri;
        configuration.Reload();
        var stack = new CallAutomationSetup(emulator, server);
        (await stack.Admin.PostAsJsonAsync("subscriptions", new { endpoint = server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        return stack;
    }

    /// <summary>Places a call in the emulator and returns its server call id and call id.</summary>
    /// <param name="publishFiles">False: the emulator never announces its recordings' files, as when they are lost.</param>
    /// <param name="participants">The participants' raw ids.</param>
    public async Task<(string ServerCallId, string CallId)> PlaceCallAsync(bool publishFiles, params string[] participants)
    {
        using var response = await Admin.PostAsJsonAsync("calls", new { participants, publishFiles });
        response.EnsureSuccessStatusCode();
        var call = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (call.GetProperty("serverCallId").GetString()!, call.GetProperty("callId").GetString()!);
    }

    /// <summary>Ends a call in the emulator, as when everyone hangs up.</summary>
    public async Task EndCallAsync(string serverCallId)
    {
        using var response = await Admin.DeleteAsync($"calls/{Uri.EscapeDataString(serverCallId)}");
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Sends a state-changing request to the service as a local operator would.</summary>
    public async Task<HttpResponseMessage> PostAsync(string path, object? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-CallVault-Request", "1");
        return await Server.Client.SendAsync(request);
    }

    /// <summary>Starts recording a call through the session API and returns the answer (201 expected).</summary>
    public async Task<JsonElement> StartSessionAsync(object body)
    {
        using var response = await PostAsync("api/sessions", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"POST /api/sessions answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Polls <c>GET /api/sessions/{id}</c> until <paramref name="condition"/> holds; fails with the last answer otherwise.</summary>
    public async Task<JsonElement> WaitForSessionAsync(string recordingId, Func<JsonElement, bool> condition, TimeSpan? timeout = null)
    {
        JsonElement last = default;
        var reached = await WebhookRecorder.WaitUntilAsync(
            async cancellationToken =>
            {
                last = await Server.Client.GetFromJsonAsync<JsonElement>($"api/sessions/{Uri.EscapeDataString(recordingId)}", cancellationToken);
                return condition(last);
            },
            timeout ?? TimeSpan.FromSeconds(30));
        Assert.True(reached, $"Session {recordingId} did not reach the expected state: {last}");
        return last;
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await Server.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}

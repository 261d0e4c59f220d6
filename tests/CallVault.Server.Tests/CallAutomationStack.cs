using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using CallVault.Testing;

namespace CallVault.Server.Tests;

/// <summary>
/// The emulator and a CallVault service wired for recording control as against a real ACS resource: the service
/// starts recordings through the emulator's Call Automation routes, its callback URL is its own loopback address,
/// it validates the callback tokens through the emulator's OpenID configuration, and its webhook is subscribed to the
/// emulator's Event Grid.
/// </summary>
public sealed class CallAutomationStack : IAsyncDisposable
{
    private CallAutomationStack(AcsEmulator emulator, ServerUnderTest server)
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
    /// <param name="emulatorOptions">Changes to the emulator's options (its clock, for one).</param>
    public static async Task<CallAutomationStack> StartAsync(TimeSpan filesMissingAfter, Action<AcsEmulatorOptions>? emulatorOptions = null)
    {
        var options = new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 };
        emulatorOptions?.Invoke(options);
        var emulator = await AcsEmulator.StartAsync(options);
        var server = await ServerUnderTest.StartAsync(emulator, settings => ConfigureCallAutomation(settings, emulator, filesMissingAfter));
        var stack = new CallAutomationStack(emulator, server);
        (await stack.Admin.PostAsJsonAsync("subscriptions", new { endpoint = server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        return stack;
    }

    /// <summary>The settings a real deployment sets for recording control, pointed at the emulator.</summary>
    private static void ConfigureCallAutomation(Dictionary<string, string?> settings, AcsEmulator emulator, TimeSpan filesMissingAfter)
    {
        // The public base URL is only known once the server listens on its dynamic port; ServerUnderTest sets it then.
        settings["CallVault:Sessions:FilesMissingAfter"] = filesMissingAfter.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        settings["CallVault:Callbacks:MetadataAddress"] = new Uri(emulator.Endpoint, ".well-known/openid-configuration").AbsoluteUri;
    }

    /// <summary>Places a call in the emulator and returns its server call id and call id.</summary>
    public async Task<(string ServerCallId, string CallId)> PlaceCallAsync(params string[] participants)
    {
        using var response = await Admin.PostAsJsonAsync("calls", new { participants });
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

    /// <summary>Tells the emulator not to publish the files' event of this call's recordings: they never reach CallVault.</summary>
    public async Task WithholdFilesAsync(string serverCallId)
    {
        // Until the emulator has a per-call switch, no subscription means no delivery.
        _ = serverCallId;
        foreach (var subscription in (await Admin.GetFromJsonAsync<JsonElement[]>("subscriptions"))!)
        {
            (await Admin.DeleteAsync($"subscriptions/{subscription.GetProperty("id").GetString()}")).EnsureSuccessStatusCode();
        }
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

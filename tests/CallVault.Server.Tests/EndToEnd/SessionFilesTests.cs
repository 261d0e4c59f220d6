using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// A recording followed through its callbacks whose files do not come turns "files missing" (the API, /health/ready
/// and the gauge say so) once the window has passed; when its files then arrive through Event Grid the session links
/// to the stored recording and the alarm clears. The gauge is <c>callvault.sessions.files_missing</c>.
/// </summary>
public sealed class SessionFilesTests : IAsyncLifetime
{
    private AcsEmulator _emulator = null!;
    private CallbackTokenIssuer _issuer = null!;
    private ServerUnderTest _server = null!;

    public async Task InitializeAsync()
    {
        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _issuer = await CallbackTokenIssuer.StartAsync();
        _server = await ServerUnderTest.StartAsync(_emulator, settings =>
        {
            settings["CallVault:Recording:PublicBaseUrl"] = "https://callvault.example.com/";
            settings["CallVault:Recording:CallbackAudience"] = _issuer.Audience;
            settings["CallVault:Recording:CallbackMetadataAddress"] = _issuer.MetadataAddress.AbsoluteUri;
            settings["CallVault:Recording:FilesMissingAfter"] = "00:00:01";
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _issuer.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task EndedWithoutFiles_TurnsFilesMissing_UntilTheFilesArriveAndLink()
    {
        using var admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        var recording = await (await admin.PostAsJsonAsync("recordings", new { durationSeconds = 2, publish = false })).Content.ReadFromJsonAsync<JsonElement>();
        var recordingId = recording.GetProperty("recordingId").GetString()!;
        var started = TimeProvider.System.GetUtcNow();
        await CallbackAsync(CallbackBody.StateChanged(recordingId, "active", started, serverCallId: recording.GetProperty("serverCallId").GetString()!));
        await CallbackAsync(CallbackBody.StateChanged(recordingId, "inactive", started.AddSeconds(2), serverCallId: recording.GetProperty("serverCallId").GetString()!));

        var missing = await UntilAsync(
            async () => (await _server.Client.GetFromJsonAsync<JsonElement[]>("api/sessions?filesMissing=true"))!,
            list => list.Length == 1);
        var health = await UntilAsync(
            async () => await _server.Client.GetFromJsonAsync<JsonElement>("health/ready"),
            h => h.GetProperty("checks").GetProperty("sessions").GetProperty("status").GetString() == "Degraded");
        await UntilAsync(() => Task.FromResult(FilesMissingGauge()), value => value == 1);

        Assert.Equal((recordingId, "Callback", true), (missing[0].GetProperty("recordingId").GetString(), missing[0].GetProperty("origin").GetString(), missing[0].GetProperty("filesMissing").GetBoolean()));
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Contains("files never arrived", health.GetProperty("checks").GetProperty("sessions").GetProperty("description").GetString(), StringComparison.Ordinal);

        (await admin.PostAsync($"recordings/{Uri.EscapeDataString(recordingId)}/publish", null)).EnsureSuccessStatusCode();
        await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);

        var linked = await _server.Client.GetFromJsonAsync<JsonElement>("api/sessions/" + Uri.EscapeDataString(recordingId));
        Assert.False(linked.GetProperty("filesMissing").GetBoolean());
        Assert.Equal(1, linked.GetProperty("recording").GetProperty("storedChunks").GetInt64());
        Assert.Equal(["active", "inactive", "filesArrived", "stored"], linked.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("event").GetString()));
        var healed = await _server.Client.GetFromJsonAsync<JsonElement>("health/ready");
        Assert.Equal("Healthy", healed.GetProperty("checks").GetProperty("sessions").GetProperty("status").GetString());
        Assert.Empty((await _server.Client.GetFromJsonAsync<JsonElement[]>("api/sessions?filesMissing=true"))!);
        await UntilAsync(() => Task.FromResult(FilesMissingGauge()), value => value == 0);
    }

    private async Task CallbackAsync(string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/callbacks") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _issuer.Token());
        using var response = await _server.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// The gauge behind <c>callvault_sessions_files_missing</c> on /metrics, read from this server's own meters: other
    /// tests' servers in the same process publish instruments of the same name, and a scrape could mix them up.
    /// </summary>
    private long? FilesMissingGauge()
    {
        var factory = _server.Services.GetRequiredService<IMeterFactory>();
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == "callvault.sessions.files_missing")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, _, _) => value = measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    private static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"The condition was not met in time; last value: {value}");
            }

            await Task.Delay(100);
        }
    }
}

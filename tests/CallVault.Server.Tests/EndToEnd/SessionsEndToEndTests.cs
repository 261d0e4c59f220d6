using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// Recording control end to end over real HTTP, the service and the emulator as separate hosts: a call placed in the
/// emulator is recorded through <c>POST /api/sessions</c>, paused, resumed and ended; the Call Automation callbacks
/// arrive with tokens the service validates; the files arrive through Event Grid and are stored; the stored WAV is
/// silent where the pause was; and a session whose files never come turns "files missing".
/// </summary>
public sealed class SessionsEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan FilesMissingAfter = TimeSpan.FromSeconds(2);
    private CallAutomationSetup _stack = null!;

    public async Task InitializeAsync() => _stack = await CallAutomationSetup.StartAsync(FilesMissingAfter);

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private static string State(JsonElement session) => session.GetProperty("state").GetString()!.ToLowerInvariant();

    private static JsonElement.ArrayEnumerator Timeline(JsonElement session) => session.GetProperty("timeline").EnumerateArray();

    [Fact]
    public async Task PausedAndResumedRecording_IsStoredWithSilenceWhereThePauseWasAndLinkedToItsSession()
    {
        var (serverCallId, callId) = await _stack.PlaceCallAsync(publishFiles: true, "8:acs:agent", "4:+14255550123");

        var started = await _stack.StartSessionAsync(new { serverCallId, format = "wav", channel = "mixed", content = "audio" });
        var recordingId = started.GetProperty("recordingId").GetString()!;
        var path = $"api/sessions/{Uri.EscapeDataString(recordingId)}";
        Assert.Equal("active", State(started));

        // The call is recorded for RecordedBeforePause, paused for PauseLength, then recorded again until it ends. The
        // waits run right after each request, so what the machine adds (callbacks, polling) only lengthens them a little.
        await Task.Delay(RecordedBeforePause);
        await _stack.WaitForSessionAsync(recordingId, s => Timeline(s).Any(e => e.GetProperty("event").GetString() == "active"));
        using (var paused = await _stack.PostAsync(path + "/pause"))
        {
            Assert.True(paused.IsSuccessStatusCode, await paused.Content.ReadAsStringAsync());
        }

        await Task.Delay(PauseLength);
        await _stack.WaitForSessionAsync(recordingId, s => State(s) == "paused" && Timeline(s).Any(e => e.GetProperty("event").GetString() == "inactive"));
        using (var resumed = await _stack.PostAsync(path + "/resume"))
        {
            Assert.True(resumed.IsSuccessStatusCode, await resumed.Content.ReadAsStringAsync());
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        await _stack.WaitForSessionAsync(recordingId, s => State(s) == "active" && Timeline(s).Count(e => e.GetProperty("event").GetString() == "active") == 2);
        await _stack.EndCallAsync(serverCallId);

        var session = await _stack.WaitForSessionAsync(
            recordingId,
            s => State(s) == "stopped" && s.GetProperty("recording").ValueKind == JsonValueKind.Object && s.GetProperty("recording").GetProperty("storedAt").ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(60));

        // Every state the recording went through was reported by a callback the service accepted (a callback
        // without a valid token is refused and changes nothing).
        var reported = Timeline(session).Where(e => e.GetProperty("source").GetString()!.Equals("callback", StringComparison.OrdinalIgnoreCase)).Select(e => e.GetProperty("event").GetString()).ToList();
        Assert.Equal(["active", "inactive", "active", "inactive"], reported);
        var deliveries = (await _stack.Admin.GetFromJsonAsync<JsonElement[]>("callbacks"))!.Where(c => c.GetProperty("recordingId").GetString() == recordingId).ToList();
        Assert.Equal(4, deliveries.Count);
        Assert.All(deliveries, c => Assert.Equal((new Uri(_stack.Server.BaseAddress, "api/callbacks").AbsoluteUri, 200), (c.GetProperty("uri").GetString(), c.GetProperty("status").GetInt32())));
        Assert.False(session.GetProperty("filesMissing").GetBoolean());
        var events = Timeline(session).Select(e => e.GetProperty("event").GetString()).ToList();
        Assert.Contains("filesArrived", events);
        Assert.Contains("stored", events);

        var key = session.GetProperty("recording").GetProperty("key").GetString()!;
        var recording = await _stack.Server.Client.GetFromJsonAsync<JsonElement>($"api/recordings/{Uri.EscapeDataString(key)}");
        Assert.Equal(callId, recording.GetProperty("callId").GetString());
        Assert.Equal(recordingId, recording.GetProperty("recordingId").GetString());
        var wav = await _stack.Server.Client.GetByteArrayAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/0/media");
        var silence = LongestSilence(wav);
        Assert.InRange(silence.Length.TotalSeconds, PauseLength.TotalSeconds - 0.05, PauseLength.TotalSeconds + Slack.TotalSeconds);
        Assert.InRange(silence.Start.TotalSeconds, RecordedBeforePause.TotalSeconds - 0.05, RecordedBeforePause.TotalSeconds + Slack.TotalSeconds);
        Assert.True(FramesAfter(wav, silence) > 0, "The recording has no sound after the pause.");
    }

    /// <summary>A recording stopped whose files are never published turns "files missing" within the window: in the API, at <c>/health/ready</c> and in <c>/metrics</c>.</summary>
    [Fact]
    public async Task StoppedRecordingWhoseFilesNeverCome_TurnsFilesMissingWithinTheWindow()
    {
        var (serverCallId, _) = await _stack.PlaceCallAsync(publishFiles: false, "8:acs:agent");
        var recordingId = (await _stack.StartSessionAsync(new { serverCallId })).GetProperty("recordingId").GetString()!;

        using (var stopped = await _stack.PostAsync($"api/sessions/{Uri.EscapeDataString(recordingId)}/stop"))
        {
            Assert.True(stopped.IsSuccessStatusCode, await stopped.Content.ReadAsStringAsync());
        }

        var stoppedAt = DateTimeOffset.Parse((await _stack.WaitForSessionAsync(recordingId, s => State(s) == "stopped")).GetProperty("stoppedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var missing = await _stack.WaitForSessionAsync(recordingId, s => s.GetProperty("filesMissing").GetBoolean(), TimeSpan.FromSeconds(30));

        Assert.Equal(JsonValueKind.Null, missing.GetProperty("recording").ValueKind);
        Assert.Contains((await _stack.Server.Client.GetFromJsonAsync<JsonElement[]>("api/sessions"))!, s => s.GetProperty("recordingId").GetString() == recordingId && s.GetProperty("filesMissing").GetBoolean());
        using var ready = await _stack.Server.Client.GetAsync("health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Degraded", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.True(stoppedAt <= TimeProvider.System.GetUtcNow());
    }

    private static readonly TimeSpan RecordedBeforePause = TimeSpan.FromSeconds(2);

    /// <summary>How long the test pauses the recording.</summary>
    private static readonly TimeSpan PauseLength = TimeSpan.FromSeconds(3);

    /// <summary>What a request to the emulator and a callback may add to a wait on a busy machine.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1.5);

    /// <summary>Frames of sound after the silence.</summary>
    private static long FramesAfter(byte[] wav, (TimeSpan Start, TimeSpan Length) silence)
    {
        var channels = BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(22));
        var sampleRate = BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24));
        var frames = (wav.Length - 44) / (2 * channels);
        return frames - (long)Math.Round((silence.Start + silence.Length).TotalSeconds * sampleRate);
    }

    /// <summary>The longest run of frames whose every sample is zero in a 16-bit PCM WAV, as start and length in the recording's time.</summary>
    private static (TimeSpan Start, TimeSpan Length) LongestSilence(byte[] wav)
    {
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(wav, 0, 4));
        var channels = BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(22));
        var sampleRate = BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24));
        Assert.Equal(16, BinaryPrimitives.ReadInt16LittleEndian(wav.AsSpan(34)));
        var data = wav.AsSpan(44);
        var frames = data.Length / (2 * channels);
        long bestStart = 0, bestLength = 0, runStart = 0, run = 0;
        for (var frame = 0; frame < frames; frame++)
        {
            var silent = true;
            for (var channel = 0; channel < channels && silent; channel++)
            {
                silent = BinaryPrimitives.ReadInt16LittleEndian(data[(((frame * channels) + channel) * 2)..]) == 0;
            }

            if (!silent)
            {
                run = 0;
                continue;
            }

            if (run++ == 0)
            {
                runStart = frame;
            }

            if (run > bestLength)
            {
                (bestStart, bestLength) = (runStart, run);
            }
        }

        return (TimeSpan.FromSeconds((double)bestStart / sampleRate), TimeSpan.FromSeconds((double)bestLength / sampleRate));
    }
}

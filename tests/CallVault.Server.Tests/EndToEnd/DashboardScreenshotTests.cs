using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Emulator;
using Microsoft.Data.Sqlite;
using Microsoft.Playwright;

namespace CallVault.Server.Tests.EndToEnd;

/// <summary>
/// The picture in the README: a service with two days of history (seeded straight into its SQLite database: a working
/// day's rhythm, an outage that built a backlog, a burst of failures) and one real unmixed recording from the emulator,
/// photographed in headless Chromium: the activity charts, then that recording's waveform with the player half-way.
/// The test checks what the picture must show; <c>eng/screenshot.sh</c> runs it with <c>CALLVAULT_SCREENSHOT</c> set to
/// keep the PNG (docs/dashboard.png).
/// </summary>
public sealed class DashboardScreenshotTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private AcsEmulator _emulator = null!;
    private ServerUnderTest _server = null!;
    private HttpClient _admin = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing. ./eng/test.sh installs Debian's chromium package.");
        }

        _emulator = await AcsEmulator.StartAsync(new AcsEmulatorOptions { EndpointUrl = "http://127.0.0.1:0", StorageUrl = "http://127.0.0.1:0", TimeFactor = 0.001 });
        _server = await ServerUnderTest.StartAsync(_emulator);
        _admin = new HttpClient { BaseAddress = _emulator.AdminBase };
        (await _admin.PostAsJsonAsync("subscriptions", new { endpoint = _server.WebhookUrl.AbsoluteUri })).EnsureSuccessStatusCode();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--no-first-run", "--disable-quic", "--force-color-profile=srgb"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        _admin.Dispose();
        await _server.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Dashboard_WithHistoryAndARecording_IsPhotographed()
    {
        var recording = await (await _admin.PostAsJsonAsync("recordings", new
        {
            durationSeconds = 9,
            channelType = "unmixed",
            participants = new[] { "8:acs:contoso_agent-0042", "4:+14255550123", "8:acs:contoso_supervisor-07" },
            pauses = new[] { new { startSeconds = 3.5, durationSeconds = 1.5 } },
        })).Content.ReadFromJsonAsync<JsonElement>();
        var manifest = await _server.WaitForRecordingAsync(recording.GetProperty("callId").GetString()!);
        var seeded = await SeedHistoryAsync(Path.Combine(_server.DataFolder, "callvault.db"), TimeProvider.System.GetUtcNow());

        var page = await _browser.NewPageAsync(new() { ViewportSize = new() { Width = 1360, Height = 900 }, DeviceScaleFactor = 1 });
        await page.GotoAsync(_server.BaseAddress.AbsoluteUri);
        await page.WaitForFunctionAsync($"() => document.querySelector('#chart-stored-hourly')?.dataset.totals === '{seeded + 1}'", null, new() { Timeout = 20_000 });
        await page.Locator("#recordings tr.recording").First.WaitForAsync();
        var charts = await page.Locator("#charts-view").ScreenshotAsync();

        await page.GotoAsync(new Uri(_server.BaseAddress, $"#/recordings/{Uri.EscapeDataString(manifest.GetProperty("key").GetString()!)}").AbsoluteUri);
        await page.Locator(".waveform[data-status='200']").WaitForAsync(new() { Timeout = 15_000 });
        Assert.Equal(3, await page.Locator(".waveform .lane").CountAsync());
        await page.EvaluateAsync("""
            async () => {
              const audio = document.querySelector('audio');
              if (audio.readyState < 1) await new Promise(resolve => audio.addEventListener('loadedmetadata', resolve, { once: true }));
              const seeked = new Promise(resolve => audio.addEventListener('seeked', resolve, { once: true }));
              audio.currentTime = 5.6;
              await seeked;
            }
            """);
        await page.WaitForFunctionAsync("() => Number(document.querySelector('.waveform').dataset.cursorFraction) > 0.6");
        var waveform = await page.Locator("#recording-view").ScreenshotAsync();

        // One picture: the charts above the recording page, on the dashboard's own background.
        var sheet = await _browser.NewPageAsync(new() { ViewportSize = new() { Width = 1360, Height = 400 }, DeviceScaleFactor = 1 });
        await sheet.SetContentAsync(
            "<body style=\"margin:0;background:#f7f8fa\">"
            + $"<img style=\"display:block\" src=\"data:image/png;base64,{Convert.ToBase64String(charts)}\">"
            + "<div style=\"height:12px;background:#1d2330\"></div>"
            + $"<img style=\"display:block\" src=\"data:image/png;base64,{Convert.ToBase64String(waveform)}\"></body>");
        var picture = await sheet.ScreenshotAsync(new() { FullPage = true, Type = ScreenshotType.Png });
        Assert.True(picture.Length > 20_000, "the picture is nearly empty");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], picture[..4]);

        var keep = Environment.GetEnvironmentVariable("CALLVAULT_SCREENSHOT");
        await File.WriteAllBytesAsync(keep is { Length: > 0 } ? keep : Path.Combine(_server.DataFolder, "dashboard.png"), picture);
    }

    /// <summary>
    /// Two days of a contact centre: more calls in working hours, an outage 30 to 27 hours ago (chunks waited, then were
    /// fetched), six chunks given up on 20 hours ago, and three chunks owed now. Returns the recordings stored.
    /// </summary>
    private static async Task<int> SeedHistoryAsync(string database, DateTimeOffset now)
    {
        var random = new Random(20261130);
        await using var connection = new SqliteConnection($"Data Source={database}");
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var stored = 0;
        var hourStart = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        for (var hoursAgo = 47; hoursAgo >= 0; hoursAgo--)
        {
            var start = hourStart.AddHours(-hoursAgo);
            var hourOfDay = start.Hour;
            var busy = hourOfDay is >= 8 and <= 18 ? 26 + (int)(14 * Math.Sin((hourOfDay - 8) / 10.0 * Math.PI)) : 4;
            var calls = busy + random.Next(0, 6);
            for (var i = 0; i < calls; i++)
            {
                var eventTime = start.AddSeconds(random.Next(0, 3600));
                if (eventTime > now.AddMinutes(-2))
                {
                    continue;
                }

                var outage = hoursAgo is >= 27 and <= 30;
                var storedAt = outage ? hourStart.AddHours(-26).AddMinutes(random.Next(0, 50)) : eventTime.AddSeconds(20 + random.Next(0, 60));
                var failed = hoursAgo == 20 && i < 6;
                await InsertAsync(connection, transaction, $"demo-{hoursAgo:D2}-{i:D3}", eventTime, failed ? null : storedAt, failed ? storedAt : null, random.Next(1_500_000, 9_000_000));
                stored += failed ? 0 : 1;
            }
        }

        for (var i = 0; i < 3; i++)
        {
            await InsertAsync(connection, transaction, $"demo-owed-{i}", now.AddMinutes(-12 - (i * 4)), null, null, 0);
        }

        await transaction.CommitAsync();
        return stored;
    }

    private static async Task InsertAsync(SqliteConnection connection, System.Data.Common.DbTransaction transaction, string key, DateTimeOffset eventTime, DateTimeOffset? storedAt, DateTimeOffset? failedAt, long bytes)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = (SqliteTransaction)transaction;
        command.CommandText =
            """
            INSERT INTO recordings (recording_key, recording_id, call_id, start_time, duration_ms, content_type, channel_type, format_type, first_seen_at, stored_bytes, participants)
            VALUES (@key, @key, @call, @event - 300000, 300000, 'Audio', 'Unmixed', 'Wav', @event - 3600000, @stored_bytes, '8:acs:agent' || char(10) || '4:+14255550100');
            INSERT INTO chunks (document_id, recording_key, chunk_index, end_reason, event_time, received_at, state, next_attempt_at, stored_at, media_path, media_length, media_sha256, media_content_type, last_error)
            VALUES ('doc-' || @key, @key, 0, 'SessionEnded', @event, @event, @state, @next, @stored, CASE WHEN @stored IS NULL THEN NULL ELSE 'demo/' || @key || '.wav' END,
                    CASE WHEN @stored IS NULL THEN NULL ELSE @bytes END, CASE WHEN @stored IS NULL THEN NULL ELSE 'demo' END, 'audio/wav', CASE WHEN @failed IS NULL THEN NULL ELSE 'Demo: gone from ACS.' END);
            """;
        command.Parameters.AddWithValue("@key", key);
        command.Parameters.AddWithValue("@call", "call-" + key);
        command.Parameters.AddWithValue("@event", eventTime.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("@stored", (object?)storedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("@failed", (object?)failedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        // A chunk still owed is not due for days: the worker must not try to fetch a chunk that exists only in this picture.
        command.Parameters.AddWithValue("@next", (failedAt ?? eventTime.AddDays(storedAt is null ? 3 : 0)).ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("@state", storedAt is not null ? "Stored" : failedAt is not null ? "DeadLettered" : "Pending");
        command.Parameters.AddWithValue("@bytes", bytes);
        command.Parameters.AddWithValue("@stored_bytes", storedAt is null ? 0 : bytes);
        await command.ExecuteNonQueryAsync();
    }
}

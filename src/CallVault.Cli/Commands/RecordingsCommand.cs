using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Spectre.Console;

namespace CallVault.Cli.Commands;

/// <summary><c>callvault recordings list|show</c>: what the service has stored.</summary>
internal static class RecordingsCommand
{
    public static Command Create()
    {
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();
        var filters = new ListFilters();
        var list = new Command("list", "List recordings, newest first unless --sort says otherwise.") { server, apiKey, json };
        foreach (var option in filters.All)
        {
            list.Options.Add(option);
        }

        list.SetAction((parse, cancellationToken) => ListAsync(parse, server, apiKey, json, filters, cancellationToken));

        var key = new Argument<string>("key") { Description = "The recording's key (from 'recordings list')." };
        var show = new Command("show", "Show one recording: its chunks, sizes, SHA-256 and participants.") { key, server, apiKey, json };
        show.SetAction((parse, cancellationToken) => ShowAsync(parse, key, server, apiKey, json, cancellationToken));

        return new Command("recordings", "Recordings stored by a CallVault service.") { list, show };
    }

    /// <summary>The options of <c>recordings list</c>, mapped one to one onto the API's query parameters.</summary>
    private sealed class ListFilters
    {
        public Option<string?> CallId { get; } = new("--call-id") { Description = "Only recordings of this call." };

        public Option<string?> Participant { get; } = new("--participant") { Description = "Only recordings with this participant: a raw id (4:+14255550123, 8:acs:...) or a phone number (+14255550123)." };

        public Option<DateTimeOffset?> From { get; } = new("--from") { Description = "Only recordings that started at or after this time (ISO 8601)." };

        public Option<DateTimeOffset?> To { get; } = new("--to") { Description = "Only recordings that started before this time (ISO 8601)." };

        public Option<string?> Status { get; } = new Option<string?>("--status") { Description = "Only recordings in this status." }.AcceptOnlyFromAmong("stored", "downloading", "partial", "pending", "failed");

        public Option<string> Sort { get; } = new Option<string>("--sort") { Description = "Order of the list.", DefaultValueFactory = _ => "newest" }.AcceptOnlyFromAmong("newest", "oldest", "longest", "largest");

        public Option<int> Skip { get; } = new("--skip") { Description = "Skip this many recordings (paging).", DefaultValueFactory = _ => 0 };

        public Option<int> Take { get; } = new("--take") { Description = "At most this many recordings (1-500).", DefaultValueFactory = _ => 50 };

        public IEnumerable<Option> All => [CallId, Participant, From, To, Status, Sort, Skip, Take];

        public string QueryOf(ParseResult parse)
        {
            var query = new List<string> { $"take={parse.GetValue(Take)}", $"skip={parse.GetValue(Skip)}", $"sort={parse.GetValue(Sort)}" };
            void Add(string name, string? value)
            {
                if (!string.IsNullOrEmpty(value))
                {
                    query.Add($"{name}={Uri.EscapeDataString(value)}");
                }
            }

            Add("callId", parse.GetValue(CallId));
            Add("participant", parse.GetValue(Participant));
            Add("from", parse.GetValue(From)?.ToString("O", CultureInfo.InvariantCulture));
            Add("to", parse.GetValue(To)?.ToString("O", CultureInfo.InvariantCulture));
            Add("status", parse.GetValue(Status));
            return "api/recordings?" + string.Join('&', query);
        }
    }

    private static async Task<int> ListAsync(ParseResult parse, Option<string?> server, Option<string?> apiKey, Option<bool> json, ListFilters filters, CancellationToken cancellationToken)
    {
        var output = parse.InvocationConfiguration.Output;
        using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
        var query = filters.QueryOf(parse);
        return await CallAsync(parse, client, query, async recordings =>
        {
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(recordings, ServiceConnection.JsonOutput));
                return ExitCodes.Success;
            }

            var table = new Table().AddColumns("Key", "Call", "Started", "Duration", "Format", "Chunks", "Size", "Status");
            foreach (var r in recordings.EnumerateArray())
            {
                table.AddRow(
                    Markup.Escape(Short(r.GetProperty("key").GetString())),
                    Markup.Escape(r.GetProperty("callId").GetString() ?? "-"),
                    Markup.Escape(Text(r.GetProperty("startTime"))),
                    Markup.Escape(r.GetProperty("durationMs").ValueKind == JsonValueKind.Number ? TimeSpan.FromMilliseconds(r.GetProperty("durationMs").GetInt64()).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : "-"),
                    Markup.Escape(r.GetProperty("formatType").GetString() ?? "-"),
                    $"{r.GetProperty("storedChunks").GetInt32()}/{r.GetProperty("chunks").GetInt32()}",
                    Bytes(r.GetProperty("storedBytes").GetInt64()),
                    Markup.Escape(r.GetProperty("status").GetString() ?? "-"));
            }

            Console(output).Write(table);
            return ExitCodes.Success;
        }, cancellationToken);
    }

    private static async Task<int> ShowAsync(ParseResult parse, Argument<string> key, Option<string?> server, Option<string?> apiKey, Option<bool> json, CancellationToken cancellationToken)
    {
        var output = parse.InvocationConfiguration.Output;
        using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
        return await CallAsync(parse, client, $"api/recordings/{Uri.EscapeDataString(parse.GetRequiredValue(key))}", async recording =>
        {
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(recording, ServiceConnection.JsonOutput));
                return ExitCodes.Success;
            }

            var console = Console(output);
            console.MarkupLine($"Recording [bold]{Markup.Escape(recording.GetProperty("key").GetString() ?? string.Empty)}[/], call {Markup.Escape(recording.GetProperty("callId").GetString() ?? "-")}, {Markup.Escape(recording.GetProperty("status").GetString() ?? "-")}");
            var chunks = new Table().AddColumns("Index", "Document", "State", "Size", "SHA-256", "Dead letter", "ACS left", "Error");
            foreach (var c in recording.GetProperty("chunks").EnumerateArray())
            {
                var media = c.GetProperty("media");
                chunks.AddRow(
                    c.GetProperty("index").GetInt64().ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(c.GetProperty("documentId").GetString() ?? string.Empty),
                    Markup.Escape(c.GetProperty("state").GetString() ?? string.Empty),
                    media.ValueKind == JsonValueKind.Object ? Bytes(media.GetProperty("length").GetInt64()) : "-",
                    media.ValueKind == JsonValueKind.Object ? Markup.Escape(media.GetProperty("sha256").GetString() ?? string.Empty) : "-",
                    Markup.Escape(c.TryGetProperty("deadLetter", out var deadLetter) ? Text(deadLetter) : "-"),
                    c.TryGetProperty("acsSecondsLeft", out var left) && left.ValueKind == JsonValueKind.Number ? TimeLeft(left.GetInt64()) : "-",
                    Markup.Escape(Text(c.GetProperty("lastError"))));
            }

            console.Write(chunks);
            foreach (var p in recording.GetProperty("participants").EnumerateArray())
            {
                var channel = p.TryGetProperty("channel", out var ch) && ch.ValueKind == JsonValueKind.Number ? $" (channel {ch.GetInt32()})" : string.Empty;
                console.MarkupLine($"  participant {Markup.Escape(p.GetProperty("participantId").GetString() ?? string.Empty)}{channel}");
            }

            return ExitCodes.Success;
        }, cancellationToken);
    }

    /// <summary>GETs <paramref name="path"/> and hands the JSON to <paramref name="render"/>, or reports the failure in one line.</summary>
    internal static async Task<int> CallAsync(ParseResult parse, HttpClient client, string path, Func<JsonElement, Task<int>> render, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        try
        {
            using var response = await client.GetAsync(path, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await error.WriteLineAsync($"error: {await ServiceConnection.DescribeFailureAsync(response)}");
                return ExitCodes.Failure;
            }

            return await render(await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken));
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"error: cannot reach the CallVault service at {client.BaseAddress}: {ex.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>A console for tables: colours and terminal width on a terminal; plain and wide when redirected, so scripts and logs get whole values.</summary>
    internal static IAnsiConsole Console(TextWriter output)
    {
        var terminal = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!terminal)
        {
            console.Profile.Width = 400;
        }

        return console;
    }

    internal static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

    private static string Short(string? key) => key is null ? "-" : key.Length <= 24 ? key : key[..10] + "…" + key[^10..];

    /// <summary>Time left before ACS deletes a chunk, in hours and minutes ("expired" once it has).</summary>
    internal static string TimeLeft(long seconds) => seconds <= 0
        ? "expired"
        : string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}h{seconds % 3600 / 60:00}m");

    private static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString() ?? "-" : value.ValueKind == JsonValueKind.Null ? "-" : value.ToString();
}

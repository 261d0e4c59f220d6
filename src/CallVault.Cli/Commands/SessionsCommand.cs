using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace CallVault.Cli.Commands;

/// <summary>
/// <c>callvault sessions start|list|show|pause|resume|stop</c>: recordings the service controls through Call Automation,
/// over the service's session API (the service holds the ACS key; the CLI needs only the service's address and key).
/// </summary>
internal static class SessionsCommand
{
    /// <summary>The header a state-changing request carries so that the service can tell it from a cross-site form post.</summary>
    private const string RequestMarkerHeader = "X-CallVault-Request";

    public static Command Create()
    {
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();

        var list = new Command("list", "Recording sessions, newest first: state, call, and whether their files arrived.") { server, apiKey, json };
        list.SetAction((parse, cancellationToken) => ListAsync(parse, server, apiKey, json, cancellationToken));

        var shown = RecordingIdArgument();
        var show = new Command("show", "One session: its settings, the stored recording it links to, and its timeline.") { shown, server, apiKey, json };
        show.SetAction((parse, cancellationToken) => ShowAsync(parse, shown, server, apiKey, json, cancellationToken));

        return new Command("sessions", "Start, pause, resume and stop call recordings through a CallVault service, and follow them until their files are stored.")
        {
            CreateStart(server, apiKey, json),
            list,
            show,
            CreateAction("pause", "Pause a recording: the file gets silence until it is resumed.", server, apiKey, json),
            CreateAction("resume", "Resume a paused recording.", server, apiKey, json),
            CreateAction("stop", "Stop a recording for good; its files arrive through Event Grid afterwards.", server, apiKey, json),
        };
    }

    private static Argument<string> RecordingIdArgument() => new("recordingId") { Description = "The recording id (from 'sessions start' or 'sessions list')." };

    private static Command CreateStart(Option<string?> server, Option<string?> apiKey, Option<bool> json)
    {
        var serverCallId = new Option<string?>("--server-call-id") { Description = "The call to record, by its server call id." };
        var groupCallId = new Option<string?>("--group-call-id") { Description = "The call to record, by its group call id (instead of --server-call-id)." };
        var format = new Option<string?>("--format") { Description = "File format; the service's default (wav for audio) when not given." }.AcceptOnlyFromAmong("wav", "mp3", "mp4");
        var channel = new Option<string?>("--channel") { Description = "mixed: one channel for everyone; unmixed: a channel per participant." }.AcceptOnlyFromAmong("mixed", "unmixed");
        var content = new Option<string?>("--content") { Description = "What is recorded." }.AcceptOnlyFromAmong("audio", "audioVideo");
        var pauseOnStart = new Option<bool>("--pause-on-start") { Description = "Start paused; nothing is recorded until 'sessions resume'." };
        var ordering = new Option<string[]>("--participant-ordering")
        {
            Description = "Unmixed audio: the participant (raw id, e.g. 8:acs:... or 4:+1425...) for channel 0, then 1, and so on. Repeatable.",
        };
        var affinity = new Option<string[]>("--channel-affinity")
        {
            Description = "Unmixed audio: pin a participant to a channel, as CHANNEL=RAW-ID (e.g. 1=4:+14255550123). Repeatable.",
        };
        affinity.Validators.Add(result =>
        {
            foreach (var value in result.GetValueOrDefault<string[]>() ?? [])
            {
                if (ParseAffinity(value) is null)
                {
                    result.AddError($"--channel-affinity '{value}' is not CHANNEL=RAW-ID with a channel from 0 to 4 (e.g. 1=4:+14255550123).");
                }
            }
        });
        var externalStorage = new Option<string?>("--external-storage")
        {
            Description = "Bring Your Own Storage: the blob container URL ACS writes the files into (its managed identity needs write access).",
        };

        var start = new Command("start", "Start recording a call. Prints the recording id to pause, resume or stop it with.")
        {
            serverCallId, groupCallId, format, channel, content, pauseOnStart, ordering, affinity, externalStorage, server, apiKey, json,
        };
        start.Validators.Add(result =>
        {
            var byServer = !string.IsNullOrWhiteSpace(result.GetValue(serverCallId));
            var byGroup = !string.IsNullOrWhiteSpace(result.GetValue(groupCallId));
            if (byServer == byGroup)
            {
                result.AddError(byServer
                    ? "Name the call with --server-call-id or --group-call-id, not both."
                    : "Name the call to record with --server-call-id or --group-call-id.");
            }
        });
        start.SetAction(async (parse, cancellationToken) =>
        {
            // Only what was given goes to the service, so that its own defaults (and their validation) apply to the rest.
            var body = new JsonObject();
            void Add(string name, string? value)
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    body[name] = value;
                }
            }

            Add("serverCallId", parse.GetValue(serverCallId));
            Add("groupCallId", parse.GetValue(groupCallId));
            Add("content", parse.GetValue(content));
            Add("channel", parse.GetValue(channel));
            Add("format", parse.GetValue(format));
            if (parse.GetValue(pauseOnStart))
            {
                body["pauseOnStart"] = true;
            }

            if (parse.GetValue(ordering) is { Length: > 0 } participants)
            {
                body["participantOrdering"] = new JsonArray([.. participants.Select(p => (JsonNode?)JsonValue.Create(p))]);
            }

            if (parse.GetValue(affinity) is { Length: > 0 } pins)
            {
                body["channelAffinity"] = new JsonArray([.. pins.Select(ParseAffinity).Select(p => (JsonNode?)new JsonObject { ["channel"] = p!.Value.Channel, ["participant"] = p.Value.Participant })]);
            }

            Add("externalStorageContainerUrl", parse.GetValue(externalStorage));
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            return await SendAsync(parse, client, "api/sessions", body, async session =>
            {
                if (parse.GetValue(json))
                {
                    await parse.InvocationConfiguration.Output.WriteLineAsync(JsonSerializer.Serialize(session, ServiceConnection.JsonOutput));
                    return ExitCodes.Success;
                }

                await parse.InvocationConfiguration.Output.WriteLineAsync(
                    $"Recording {Text(session, "recordingId")} started ({Text(session, "state")}) for call {CallOf(session)}.");
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return start;
    }

    /// <summary><c>sessions pause|resume|stop ID</c>: one POST, then the session's new state.</summary>
    private static Command CreateAction(string action, string description, Option<string?> server, Option<string?> apiKey, Option<bool> json)
    {
        var recordingId = RecordingIdArgument();
        var command = new Command(action, description) { recordingId, server, apiKey, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var id = parse.GetRequiredValue(recordingId);
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            return await SendAsync(parse, client, $"api/sessions/{Uri.EscapeDataString(id)}/{action}", body: null, async session =>
            {
                var output = parse.InvocationConfiguration.Output;
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(session.ValueKind == JsonValueKind.Undefined ? "{}" : JsonSerializer.Serialize(session, ServiceConnection.JsonOutput));
                    return ExitCodes.Success;
                }

                var state = session.ValueKind == JsonValueKind.Object ? $" (state {Text(session, "state")})" : string.Empty;
                await output.WriteLineAsync($"Asked to {action} recording {id}{state}.");
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static async Task<int> ListAsync(ParseResult parse, Option<string?> server, Option<string?> apiKey, Option<bool> json, CancellationToken cancellationToken)
    {
        var output = parse.InvocationConfiguration.Output;
        using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
        return await RecordingsCommand.CallAsync(parse, client, "api/sessions", async sessions =>
        {
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(sessions, ServiceConnection.JsonOutput));
                return ExitCodes.Success;
            }

            // Recording ids are long (base64); kept on one line so they can be copied whole. The files column stays short
            // (no recording key) for the same reason; 'sessions show' names the key.
            var table = new Table()
                .AddColumn(new TableColumn("Recording id").NoWrap())
                .AddColumn(new TableColumn("Call").NoWrap())
                .AddColumns("State", "Format", "Started", "By", "Files");
            var missing = 0;
            foreach (var s in sessions.EnumerateArray())
            {
                missing += FilesMissing(s) ? 1 : 0;
                table.AddRow(
                    Markup.Escape(Text(s, "recordingId")),
                    Markup.Escape(CallOf(s)),
                    Markup.Escape(Text(s, "state")),
                    Markup.Escape($"{Text(s, "content")} {Text(s, "channel")} {Text(s, "format")}"),
                    Markup.Escape(Text(s, "createdAt")),
                    Markup.Escape(Text(s, "startedBy")),
                    Files(s, withKey: false));
            }

            var console = RecordingsCommand.Console(output);
            console.Write(table);
            if (missing > 0)
            {
                console.MarkupLine($"[red bold]{missing} session(s) have files missing:[/] they ended and no file arrived within the configured window.");
            }

            return ExitCodes.Success;
        }, cancellationToken);
    }

    private static async Task<int> ShowAsync(ParseResult parse, Argument<string> recordingId, Option<string?> server, Option<string?> apiKey, Option<bool> json, CancellationToken cancellationToken)
    {
        var output = parse.InvocationConfiguration.Output;
        using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
        return await RecordingsCommand.CallAsync(parse, client, $"api/sessions/{Uri.EscapeDataString(parse.GetRequiredValue(recordingId))}", async session =>
        {
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(session, ServiceConnection.JsonOutput));
                return ExitCodes.Success;
            }

            var console = RecordingsCommand.Console(output);
            console.MarkupLine($"Recording [bold]{Markup.Escape(Text(session, "recordingId"))}[/], call {Markup.Escape(CallOf(session))}, {Markup.Escape(Text(session, "state"))}");
            console.MarkupLine($"  {Markup.Escape($"{Text(session, "content")} · {Text(session, "channel")} · {Text(session, "format")}")}, started by {Markup.Escape(Text(session, "startedBy"))}");
            console.MarkupLine($"  files: {Files(session, withKey: true)}");
            var timeline = new Table().AddColumns("Time", "Event", "From", "State", "By", "Detail");
            if (session.TryGetProperty("timeline", out var entries) && entries.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in entries.EnumerateArray())
                {
                    // A change that arrived after a newer one is kept in the history but did not set the state.
                    var late = e.TryGetProperty("applied", out var applied) && applied.ValueKind == JsonValueKind.False ? " (late, not applied)" : string.Empty;
                    timeline.AddRow(
                        Markup.Escape(Text(e, "at")),
                        Markup.Escape(Text(e, "event")),
                        Markup.Escape(Text(e, "source")),
                        Markup.Escape(Text(e, "state") + late),
                        Markup.Escape(Text(e, "actor")),
                        Markup.Escape(Text(e, "detail")));
                }
            }

            console.Write(timeline);
            return ExitCodes.Success;
        }, cancellationToken);
    }

    /// <summary>POSTs <paramref name="body"/> (or nothing) and hands the answer's JSON, if any, to <paramref name="render"/>; a failure is one line on stderr.</summary>
    private static async Task<int> SendAsync(ParseResult parse, HttpClient client, string path, JsonObject? body, Func<JsonElement, Task<int>> render, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path);
            request.Headers.Add(RequestMarkerHeader, "1");
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            using var response = await client.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await error.WriteLineAsync($"error: {await ServiceConnection.DescribeFailureAsync(response)}");
                return ExitCodes.Failure;
            }

            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return await render(string.IsNullOrWhiteSpace(text) ? default : JsonDocument.Parse(text).RootElement.Clone());
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"error: cannot reach the CallVault service at {client.BaseAddress}: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (JsonException ex)
        {
            await error.WriteLineAsync($"error: the service's answer is not JSON: {ex.Message}");
            return ExitCodes.Failure;
        }
    }

    private static (int Channel, string Participant)? ParseAffinity(string? value)
    {
        var separator = value?.IndexOf('=', StringComparison.Ordinal) ?? -1;
        return separator > 0
            && int.TryParse(value.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var channel)
            && channel is >= 0 and <= 4
            && value!.Length > separator + 1
            ? (channel, value[(separator + 1)..])
            : null;
    }

    private static bool FilesMissing(JsonElement session) =>
        session.TryGetProperty("filesMissing", out var missing) && missing.ValueKind == JsonValueKind.True;

    /// <summary>Where the session's files stand: an alarm, the stored recording it links to, or not yet.</summary>
    private static string Files(JsonElement session, bool withKey)
    {
        if (FilesMissing(session))
        {
            return "[red bold]FILES MISSING[/]";
        }

        if (!session.TryGetProperty("recording", out var recording) || recording.ValueKind != JsonValueKind.Object)
        {
            return "not yet";
        }

        var progress = $"{Text(recording, "storedChunks")}/{Text(recording, "chunks")} chunks";
        var key = withKey ? $" as {Text(recording, "key")}" : string.Empty;
        return Markup.Escape(Text(recording, "storedAt") is not "-" ? $"stored ({progress}){key}" : $"arriving ({progress} stored){key}");
    }

    private static string CallOf(JsonElement session) =>
        Text(session, "serverCallId") is var server and not "-" ? server : $"group {Text(session, "groupCallId")}";

    private static string Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString() ?? "-",
                JsonValueKind.Null or JsonValueKind.Undefined => "-",
                _ => value.ToString(),
            }
            : "-";
}

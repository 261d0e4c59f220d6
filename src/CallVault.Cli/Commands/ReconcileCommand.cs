using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace CallVault.Cli.Commands;

/// <summary>
/// <c>callvault reconcile</c>: every recording the service heard of in a period with the state of each chunk, lost
/// first, and the recording sessions still without files (the service's reconciliation report).
/// </summary>
internal static class ReconcileCommand
{
    public static Command Create()
    {
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();
        var since = new Option<DateTimeOffset?>("--since") { Description = "Chunks whose event is at or after this time (ISO 8601). Default: 48 hours before --until." };
        var until = new Option<DateTimeOffset?>("--until") { Description = "Chunks whose event is before this time (ISO 8601). Default: now." };
        var command = new Command("reconcile", "What happened to every recording of a period: chunks lost, failed, pending (with time left before ACS deletes them), exported, recovered from dead-letter blobs, stored; sessions without files.")
        {
            server, apiKey, json, since, until,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var query = new List<string>();
            if (parse.GetValue(since) is { } from)
            {
                query.Add("since=" + Uri.EscapeDataString(from.ToString("O", CultureInfo.InvariantCulture)));
            }

            if (parse.GetValue(until) is { } to)
            {
                query.Add("until=" + Uri.EscapeDataString(to.ToString("O", CultureInfo.InvariantCulture)));
            }

            var output = parse.InvocationConfiguration.Output;
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            return await RecordingsCommand.CallAsync(parse, client, "api/reconciliation?" + string.Join('&', query), async report =>
            {
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(report, ServiceConnection.JsonOutput));
                    return ExitCodes.Success;
                }

                var console = RecordingsCommand.Console(output);
                console.MarkupLine(Markup.Escape($"{Time(report, "since")} to {Time(report, "until")}: ") + string.Join(", ", report.GetProperty("totals").EnumerateArray().Select(t => Markup.Escape($"{t.GetProperty("chunks").GetInt32()} {t.GetProperty("state").GetString()}"))));
                var table = new Table().AddColumns("State", "Recording", "Call", "Chunk", "Event", "Time left", "Via", "Reason");
                foreach (var recording in report.GetProperty("recordings").EnumerateArray())
                {
                    foreach (var chunk in recording.GetProperty("chunks").EnumerateArray())
                    {
                        table.AddRow(
                            Markup.Escape(chunk.GetProperty("state").GetString() ?? "-"),
                            Markup.Escape(recording.GetProperty("recordingId").GetString() ?? recording.GetProperty("key").GetString() ?? "-"),
                            Markup.Escape(recording.GetProperty("callId").GetString() ?? "-"),
                            chunk.GetProperty("index").GetInt64().ToString(CultureInfo.InvariantCulture),
                            Markup.Escape(chunk.GetProperty("eventTime").GetDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)),
                            chunk.GetProperty("timeLeftSeconds").ValueKind == JsonValueKind.Number ? Left(chunk.GetProperty("timeLeftSeconds").GetInt64()) : "-",
                            chunk.GetProperty("viaDeadLetter").GetBoolean() ? "dead-letter" : "webhook",
                            Markup.Escape(chunk.GetProperty("reason").GetString() ?? string.Empty));
                    }
                }

                console.Write(table);
                var sessions = report.GetProperty("sessionsWithoutRecording");
                if (sessions.GetArrayLength() > 0)
                {
                    var waiting = new Table().AddColumns("Session (recording id)", "Server call", "Files", "Stopped");
                    foreach (var s in sessions.EnumerateArray())
                    {
                        waiting.AddRow(
                            Markup.Escape(s.GetProperty("recordingId").GetString() ?? "-"),
                            Markup.Escape(s.GetProperty("serverCallId").GetString() ?? "-"),
                            s.GetProperty("state").GetString() == "filesMissing" ? "missing" : "expected",
                            s.GetProperty("stoppedAt").ValueKind == JsonValueKind.String ? Markup.Escape(s.GetProperty("stoppedAt").GetDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)) : "-");
                    }

                    console.Write(waiting);
                }

                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static string Time(JsonElement report, string name) => report.GetProperty(name).GetDateTimeOffset().ToString("u", CultureInfo.InvariantCulture);

    private static string Left(long seconds) => seconds >= 3600
        ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}h {seconds % 3600 / 60:00}m")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}m");
}

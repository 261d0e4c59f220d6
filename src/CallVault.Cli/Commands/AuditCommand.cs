using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace CallVault.Cli.Commands;

/// <summary><c>callvault audit</c>: who read or changed which recording, newest first (the service's access audit log).</summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();
        var since = new Option<DateTimeOffset?>("--since") { Description = "Only records at or after this time (ISO 8601)." };
        var until = new Option<DateTimeOffset?>("--until") { Description = "Only records before this time (ISO 8601)." };
        var who = new Option<string?>("--who") { Description = "Only records of this caller (an API key's name, or 'local')." };
        var recording = new Option<string?>("--recording") { Description = "Only records about this recording (its key)." };
        var take = new Option<int>("--take") { Description = "At most this many records (1-1000).", DefaultValueFactory = _ => 100 };
        var before = new Option<string?>("--before") { Description = "Continue after an earlier page: the cursor it printed." };
        var command = new Command("audit", "The access audit log: media, metadata and manifest reads and retries, newest first, with who, bytes sent and from where.")
        {
            server, apiKey, json, since, until, who, recording, take, before,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(take) is < 1 or > 1000)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("error: --take must be 1-1000.");
                return ExitCodes.UsageError;
            }

            var query = new List<string> { $"take={parse.GetValue(take)}" };
            void Add(string name, string? value)
            {
                if (!string.IsNullOrEmpty(value))
                {
                    query.Add($"{name}={Uri.EscapeDataString(value)}");
                }
            }

            Add("since", parse.GetValue(since)?.ToString("O", CultureInfo.InvariantCulture));
            Add("until", parse.GetValue(until)?.ToString("O", CultureInfo.InvariantCulture));
            Add("who", parse.GetValue(who));
            Add("recording", parse.GetValue(recording));
            Add("before", parse.GetValue(before));
            var output = parse.InvocationConfiguration.Output;
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            return await RecordingsCommand.CallAsync(parse, client, "api/audit?" + string.Join('&', query), async page =>
            {
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(page, ServiceConnection.JsonOutput));
                    return ExitCodes.Success;
                }

                var table = new Table().AddColumns("Time", "Who", "Action", "Recording", "Chunk", "Bytes", "From", "Status");
                foreach (var r in page.GetProperty("records").EnumerateArray())
                {
                    table.AddRow(
                        Markup.Escape(r.GetProperty("at").GetDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)),
                        Markup.Escape(r.GetProperty("who").GetString() ?? "-"),
                        Markup.Escape(r.GetProperty("action").GetString() ?? "-"),
                        Markup.Escape(r.GetProperty("recordingKey").GetString() ?? "-"),
                        Markup.Escape(Chunk(r)),
                        RecordingsCommand.Bytes(r.GetProperty("bytes").GetInt64()),
                        Markup.Escape(r.GetProperty("remoteAddress").GetString() ?? "-"),
                        r.GetProperty("status").GetInt32().ToString(CultureInfo.InvariantCulture) + (r.GetProperty("aborted").GetBoolean() ? " (aborted)" : string.Empty));
                }

                var console = RecordingsCommand.Console(output);
                console.Write(table);
                if (page.GetProperty("next").GetString() is { } next)
                {
                    console.MarkupLine($"More: --before {Markup.Escape(next)}");
                }

                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static string Chunk(JsonElement record) => record.GetProperty("chunkIndex").ValueKind == JsonValueKind.Number
        ? record.GetProperty("chunkIndex").GetInt64().ToString(CultureInfo.InvariantCulture)
        : record.GetProperty("documentId").GetString() ?? "-";
}

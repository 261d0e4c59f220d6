using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace CallVault.Cli.Commands;

/// <summary><c>callvault jobs list|retry</c>: the download queue.</summary>
internal static class JobsCommand
{
    public static Command Create()
    {
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();
        var state = new Option<string?>("--state") { Description = "List the chunks in this state, oldest event first, with their attempts and last error." }
            .AcceptOnlyFromAmong("Pending", "Leased", "Stored", "DeadLettered");
        var take = new Option<int>("--take") { Description = "With --state: at most this many chunks (1-1000).", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "Chunks by job state, the oldest pending one and the last event received; with --state, the chunks in that state.") { server, apiKey, json, state, take };
        list.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            if (parse.GetValue(state) is { } wanted)
            {
                return await RecordingsCommand.CallAsync(parse, client, $"api/jobs/chunks?state={wanted}&take={parse.GetValue(take)}", async chunks =>
                {
                    if (parse.GetValue(json))
                    {
                        await output.WriteLineAsync(JsonSerializer.Serialize(chunks, ServiceConnection.JsonOutput));
                        return ExitCodes.Success;
                    }

                    var table = new Table().AddColumns("Document", "Call", "Index", "Attempts", "Next attempt", "Dead letter", "Last error");
                    foreach (var c in chunks.EnumerateArray())
                    {
                        table.AddRow(
                            Markup.Escape(c.GetProperty("documentId").GetString() ?? "-"),
                            Markup.Escape(c.GetProperty("callId").GetString() ?? "-"),
                            c.GetProperty("index").ToString(),
                            c.GetProperty("attempts").ToString(),
                            Markup.Escape(c.GetProperty("nextAttemptAt").ToString()),
                            Markup.Escape(c.TryGetProperty("deadLetter", out var deadLetter) ? deadLetter.GetString() ?? "-" : "-"),
                            Markup.Escape(c.GetProperty("lastError").GetString() ?? "-"));
                    }

                    RecordingsCommand.Console(output).Write(table);
                    return ExitCodes.Success;
                }, cancellationToken);
            }

            return await RecordingsCommand.CallAsync(parse, client, "api/jobs", jobs =>
                RecordingsCommand.CallAsync(parse, client, $"api/events/rejected?take={LatestRejected}", async rejected =>
                {
                    if (parse.GetValue(json))
                    {
                        // The jobs document as before, with the refused events beside the chunk counts.
                        var document = JsonNode.Parse(jobs.GetRawText())!.AsObject();
                        document["rejectedEvents"] = JsonNode.Parse(rejected.GetRawText());
                        await output.WriteLineAsync(document.ToJsonString(ServiceConnection.JsonOutput));
                        return ExitCodes.Success;
                    }

                    var table = new Table().AddColumns("State", "Chunks");
                    foreach (var state in jobs.GetProperty("byState").EnumerateObject())
                    {
                        table.AddRow(state.Name, state.Value.GetInt32().ToString(CultureInfo.InvariantCulture));
                    }

                    var console = RecordingsCommand.Console(output);
                    console.Write(table);
                    console.MarkupLine($"Oldest pending event: {Markup.Escape(jobs.GetProperty("oldestPendingEventTime").ToString())}; last event received: {Markup.Escape(jobs.GetProperty("lastEventReceivedAt").ToString())}");
                    WriteRejected(console, rejected);
                    return await RecordingsCommand.CallAsync(parse, client, $"api/recovery/lost?take={LatestRejected}", lost =>
                    {
                        WriteLost(console, lost);
                        return Task.FromResult(ExitCodes.Success);
                    }, cancellationToken);
                }, cancellationToken), cancellationToken);
        });

        var documentId = new Argument<string>("documentId") { Description = "The dead-lettered chunk's document id." };
        var retry = new Command("retry", "Make a dead-lettered chunk due again now.") { documentId, server, apiKey };
        retry.SetAction(async (parse, cancellationToken) =>
        {
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            try
            {
                using var response = await client.PostAsync($"api/jobs/{Uri.EscapeDataString(parse.GetRequiredValue(documentId))}/retry", null, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"error: {await ServiceConnection.DescribeFailureAsync(response)}");
                    return ExitCodes.Failure;
                }

                await parse.InvocationConfiguration.Output.WriteLineAsync($"Chunk {parse.GetRequiredValue(documentId)} is due again.");
                return ExitCodes.Success;
            }
            catch (HttpRequestException ex)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: cannot reach the CallVault service at {client.BaseAddress}: {ex.Message}");
                return ExitCodes.Failure;
            }
        });

        return new Command("jobs", "The download queue of a CallVault service.") { list, retry };
    }

    /// <summary>How many of the most recent rejected events <c>jobs list</c> shows.</summary>
    private const int LatestRejected = 5;

    /// <summary>Chunks dead-letter recovery found after ACS had deleted them: each a recording with a gap.</summary>
    private static void WriteLost(IAnsiConsole console, JsonElement lost)
    {
        var total = lost.GetProperty("total").GetInt64();
        if (total == 0)
        {
            console.MarkupLine("Lost chunks: 0");
            return;
        }

        console.MarkupLine($"[red]Lost chunks: {total}[/] (announced only by a dead-letter blob after ACS deleted them; the latest {Math.Min(total, LatestRejected)} below, all at GET /api/recovery/lost)");
        var table = new Table().AddColumns("Recording", "Call", "Index", "Document", "ACS deleted it at");
        foreach (var c in lost.GetProperty("chunks").EnumerateArray())
        {
            table.AddRow(
                Markup.Escape(c.GetProperty("recordingId").GetString() ?? c.GetProperty("recordingKey").GetString() ?? "-"),
                Markup.Escape(c.GetProperty("callId").GetString() ?? "-"),
                c.GetProperty("chunkIndex").ToString(),
                Markup.Escape(c.GetProperty("documentId").GetString() ?? "-"),
                Markup.Escape(c.GetProperty("acsExpiredAt").ToString()));
        }

        console.Write(table);
    }

    private static void WriteRejected(IAnsiConsole console, JsonElement rejected)
    {
        var total = rejected.GetProperty("total").GetInt64();
        if (total == 0)
        {
            console.MarkupLine("Rejected events: 0");
            return;
        }

        console.MarkupLine($"Rejected events: {total} (refused by the webhook and kept; the latest {Math.Min(total, LatestRejected)} below, all at GET /api/events/rejected)");
        var table = new Table().AddColumns("Last seen", "Event id", "Seen", "Reason");
        foreach (var e in rejected.GetProperty("events").EnumerateArray())
        {
            table.AddRow(
                Markup.Escape(e.GetProperty("lastSeenAt").ToString()),
                Markup.Escape(e.GetProperty("eventId").GetString() ?? "-"),
                e.GetProperty("occurrences").ToString(),
                Markup.Escape(e.GetProperty("reason").GetString() ?? "-"));
        }

        console.Write(table);
    }
}

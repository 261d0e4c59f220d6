using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Spectre.Console;

namespace CallVault.Cli.Commands;

/// <summary><c>callvault hold set|clear|list</c>: legal holds, which block every deletion until cleared.</summary>
internal static class HoldCommand
{
    public static Command Create()
    {
        var key = new Argument<string>("key") { Description = "The recording's key (as in callvault recordings list)." };
        var reason = new Option<string>("--reason") { Description = "Why the recording is held (required, at most 500 characters); kept with the hold.", Required = true };
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();

        var set = new Command("set", "Put a recording under legal hold: nothing deletes it, by retention or by hand, until the hold is cleared.") { key, reason, server, apiKey, json };
        set.SetAction((parse, cancellationToken) => RetentionCalls.SendAsync(
            parse, parse.GetValue(server), parse.GetValue(apiKey), HttpMethod.Put, $"api/recordings/{Uri.EscapeDataString(parse.GetRequiredValue(key))}/hold",
            JsonContent.Create(new { reason = parse.GetRequiredValue(reason) }),
            hold => $"Recording {hold.GetProperty("recordingKey").GetString()} is under legal hold since {hold.GetProperty("setAt")} (set by {hold.GetProperty("setBy").GetString()}: {hold.GetProperty("reason").GetString()}).",
            parse.GetValue(json), cancellationToken));

        var clear = new Command("clear", "Clear a recording's legal hold (kept in the hold history and the audit log).") { key, server, apiKey, json };
        clear.SetAction((parse, cancellationToken) => RetentionCalls.SendAsync(
            parse, parse.GetValue(server), parse.GetValue(apiKey), HttpMethod.Delete, $"api/recordings/{Uri.EscapeDataString(parse.GetRequiredValue(key))}/hold", null,
            hold => $"Recording {hold.GetProperty("recordingKey").GetString()} is no longer under legal hold (cleared by {hold.GetProperty("clearedBy").GetString()}).",
            parse.GetValue(json), cancellationToken));

        var all = new Option<bool>("--all") { Description = "Include cleared holds (the history)." };
        var list = new Command("list", "Recordings under legal hold, most recent first.") { all, server, apiKey, json };
        list.SetAction(async (parse, cancellationToken) =>
        {
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            return await RecordingsCommand.CallAsync(parse, client, $"api/holds?take=1000&all={(parse.GetValue(all) ? "true" : "false")}", async holds =>
            {
                var output = parse.InvocationConfiguration.Output;
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(holds, ServiceConnection.JsonOutput));
                    return ExitCodes.Success;
                }

                var table = new Table().AddColumns("Recording", "Reason", "Set by", "Since", "Cleared by", "Cleared at");
                foreach (var hold in holds.EnumerateArray())
                {
                    table.AddRow(
                        Markup.Escape(hold.GetProperty("recordingKey").GetString() ?? "-"),
                        Markup.Escape(hold.GetProperty("reason").GetString() ?? "-"),
                        Markup.Escape(hold.GetProperty("setBy").GetString() ?? "-"),
                        Markup.Escape(hold.GetProperty("setAt").ToString()),
                        Markup.Escape(hold.GetProperty("clearedBy").GetString() ?? "-"),
                        Markup.Escape(hold.GetProperty("clearedAt").ValueKind == JsonValueKind.Null ? "-" : hold.GetProperty("clearedAt").ToString()));
                }

                RecordingsCommand.Console(output).Write(table);
                return ExitCodes.Success;
            }, cancellationToken);
        });

        return new Command("hold", "Legal holds on recordings of a CallVault service.") { set, clear, list };
    }
}

/// <summary><c>callvault delete KEY</c>: deletes a stored recording now, keeping a tombstone; refused while it is held.</summary>
internal static class DeleteCommand
{
    public static Command Create()
    {
        var key = new Argument<string>("key") { Description = "The recording's key (as in callvault recordings list)." };
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();
        var delete = new Command(
            "delete",
            "Delete a stored recording now (chunk files, metadata, manifest), keeping a tombstone of its ids, sizes and SHA-256. Asks nothing; fails while the recording is under legal hold or not wholly stored.")
        {
            key, server, apiKey, json,
        };
        delete.SetAction((parse, cancellationToken) => RetentionCalls.SendAsync(
            parse, parse.GetValue(server), parse.GetValue(apiKey), HttpMethod.Delete, $"api/recordings/{Uri.EscapeDataString(parse.GetRequiredValue(key))}", null,
            tombstone => $"Deleted recording {tombstone.GetProperty("recordingKey").GetString()}: {tombstone.GetProperty("chunks").GetArrayLength()} chunks, {tombstone.GetProperty("mediaBytes")} media bytes; tombstone kept ({tombstone.GetProperty("rule").GetString()}).",
            parse.GetValue(json), cancellationToken));
        return delete;
    }
}

/// <summary>The one request each retention command makes, and how its answer is printed.</summary>
internal static class RetentionCalls
{
    public static async Task<int> SendAsync(
        ParseResult parse, string? server, string? apiKey, HttpMethod method, string path, HttpContent? content, Func<JsonElement, string> describe, bool json, CancellationToken cancellationToken)
    {
        using var client = ServiceConnection.CreateClient(server, apiKey);
        try
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            using var response = await client.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: {await ServiceConnection.DescribeFailureAsync(response)}");
                return ExitCodes.Failure;
            }

            var answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            await parse.InvocationConfiguration.Output.WriteLineAsync(json ? JsonSerializer.Serialize(answer, ServiceConnection.JsonOutput) : describe(answer));
            return ExitCodes.Success;
        }
        catch (HttpRequestException ex)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync($"error: cannot reach the CallVault service at {client.BaseAddress}: {ex.Message}");
            return ExitCodes.Failure;
        }
    }
}

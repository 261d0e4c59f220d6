using System.CommandLine;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace CallVault.Cli.Commands;

/// <summary>
/// <c>callvault verify</c>: reads back every stored chunk through the service (so it works for disk and Blob Storage
/// alike), re-hashes it and compares size and SHA-256 with the manifest. Exit code 1 when anything differs.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var server = ServiceConnection.ServerOption();
        var apiKey = ServiceConnection.ApiKeyOption();
        var json = ServiceConnection.JsonOption();
        var recording = new Option<string?>("--recording", "-r") { Description = "Only this recording (its key)." };
        var command = new Command("verify", "Re-hash what is stored and compare it with the manifests; report every difference.") { server, apiKey, recording, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var client = ServiceConnection.CreateClient(parse.GetValue(server), parse.GetValue(apiKey));
            var differences = new List<string>();
            var chunks = 0;
            try
            {
                foreach (var key in await KeysAsync(client, parse.GetValue(recording), cancellationToken))
                {
                    var manifest = await client.GetFromJsonAsync<JsonElement>($"api/recordings/{Uri.EscapeDataString(key)}", cancellationToken);
                    foreach (var chunk in manifest.GetProperty("chunks").EnumerateArray())
                    {
                        if (chunk.GetProperty("state").GetString() != "Stored")
                        {
                            continue;
                        }

                        chunks++;
                        var index = chunk.GetProperty("index").GetInt64();
                        foreach (var (kind, stored) in new[] { ("media", chunk.GetProperty("media")), ("metadata", chunk.GetProperty("metadata")) })
                        {
                            using var response = await client.GetAsync($"api/recordings/{Uri.EscapeDataString(key)}/chunks/{index}/{kind}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                            if (!response.IsSuccessStatusCode)
                            {
                                differences.Add($"{key} chunk {index} {kind}: {await ServiceConnection.DescribeFailureAsync(response)}");
                                continue;
                            }

                            await using var content = await response.Content.ReadAsStreamAsync(cancellationToken);
                            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                            var buffer = new byte[1024 * 1024];
                            long length = 0;
                            int read;
                            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                            {
                                hash.AppendData(buffer, 0, read);
                                length += read;
                            }

                            var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
                            if (length != stored.GetProperty("length").GetInt64() || sha != stored.GetProperty("sha256").GetString())
                            {
                                differences.Add($"{key} chunk {index} {kind}: stored {length} bytes with SHA-256 {sha}; the manifest says {stored.GetProperty("length").GetInt64()} bytes, {stored.GetProperty("sha256").GetString()}");
                            }
                        }
                    }
                }
            }
            catch (HttpRequestException ex)
            {
                await error.WriteLineAsync($"error: cannot read from the CallVault service at {client.BaseAddress}: {ex.Message}");
                return ExitCodes.Failure;
            }

            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(new { chunks, differences }, ServiceConnection.JsonOutput));
            }
            else
            {
                foreach (var difference in differences)
                {
                    await output.WriteLineAsync($"DIFFERS  {difference}");
                }

                await output.WriteLineAsync(differences.Count == 0
                    ? $"Verified {chunks} stored chunk(s): every size and SHA-256 matches its manifest."
                    : $"Verified {chunks} stored chunk(s): {differences.Count} difference(s).");
            }

            return differences.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static async Task<List<string>> KeysAsync(HttpClient client, string? only, CancellationToken cancellationToken)
    {
        if (only is not null)
        {
            return [only];
        }

        var keys = new List<string>();
        for (var skip = 0; ; skip += 500)
        {
            var page = await client.GetFromJsonAsync<JsonElement[]>($"api/recordings?skip={skip}&take=500", cancellationToken) ?? [];
            keys.AddRange(page.Select(r => r.GetProperty("key").GetString()!));
            if (page.Length < 500)
            {
                return keys;
            }
        }
    }
}

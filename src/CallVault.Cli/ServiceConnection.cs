using System.CommandLine;
using System.Net.Http.Headers;

namespace CallVault.Cli;

/// <summary>How the commands that talk to a running service find it: <c>--server</c> and <c>--api-key</c>, or the environment.</summary>
internal static class ServiceConnection
{
    public const string ServerVariable = "CALLVAULT_URL";
    public const string ApiKeyVariable = "CALLVAULT_API_KEY";
    public const string DefaultServer = "http://localhost:5080";

    /// <summary>How <c>--json</c> output is written.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions JsonOutput = new() { WriteIndented = true };

    public static Option<string?> ServerOption() => new("--server", "-s")
    {
        Description = $"The CallVault service. Defaults to {ServerVariable}, else {DefaultServer}.",
    };

    public static Option<string?> ApiKeyOption() => new("--api-key")
    {
        Description = $"An API key, when the service requires one. Defaults to {ApiKeyVariable}.",
    };

    public static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of a table." };

    public static HttpClient CreateClient(string? server, string? apiKey)
    {
        var address = server ?? Environment.GetEnvironmentVariable(ServerVariable) ?? DefaultServer;
        var client = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(10) };
        if ((apiKey ?? Environment.GetEnvironmentVariable(ApiKeyVariable)) is { Length: > 0 } key)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        // A keyless service on this machine accepts a state change (retry) only with this header, which a browser's
        // cross-site form cannot send; with a key it is not needed, and it does no harm.
        client.DefaultRequestHeaders.Add("X-CallVault-Request", "1");
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    /// <summary>Turns a failed call into one line for stderr.</summary>
    public static async Task<string> DescribeFailureAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        var detail = body;
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("detail", out var value))
            {
                detail = value.GetString() ?? body;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return $"the service answered {(int)response.StatusCode} {response.ReasonPhrase}: {detail}".TrimEnd(':', ' ');
    }
}

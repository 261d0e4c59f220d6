using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CallVault.Acs.Errors;

/// <summary>What is kept of an error response: enough to explain it, never the request's credentials.</summary>
internal sealed partial record AcsErrorResponse(
    int Status,
    string? Reason,
    string Method,
    string Location,
    string? ContentType,
    string? Body,
    string? ServiceMessage,
    string? RequestId,
    TimeSpan? RetryAfter)
{
    private const int MaxBodyChars = 4096;
    private static readonly string[] RequestIdHeaders = ["x-ms-request-id", "x-ms-client-request-id", "MS-CV", "x-azure-ref", "traceparent"];

    public static async Task<AcsErrorResponse> ReadAsync(HttpResponseMessage response, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var request = response.RequestMessage;
        var location = request?.RequestUri is { } uri ? uri.GetLeftPart(UriPartial.Path) : "(unknown URL)";
        var body = await ReadBodyPrefixAsync(response, cancellationToken).ConfigureAwait(false);
        var contentType = response.Content.Headers.ContentType?.MediaType;
        var (serviceMessage, traceId) = Summarize(body, contentType);
        var ids = RequestIdHeaders
            .Select(name => response.Headers.TryGetValues(name, out var values) ? $"{name}: {string.Join(",", values)}" : null)
            .Where(v => v is not null)
            .ToList();
        if (traceId is not null)
        {
            ids.Add($"traceId: {traceId}");
        }

        return new AcsErrorResponse(
            (int)response.StatusCode,
            response.ReasonPhrase,
            request?.Method.Method ?? "GET",
            location,
            contentType,
            body,
            serviceMessage,
            ids.Count == 0 ? null : string.Join("; ", ids),
            GetRetryAfter(response.Headers.RetryAfter, timeProvider));
    }

    public string ToMessage()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"ACS answered {Status} {Reason} to {Method} {Location}.");
        var hint = Hint(Status);
        if (hint is not null)
        {
            text.Append(' ').Append(hint);
        }

        if (!string.IsNullOrWhiteSpace(ServiceMessage))
        {
            text.Append(CultureInfo.InvariantCulture, $" The service said: \"{ServiceMessage}\".");
        }

        if (RequestId is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" ({RequestId})");
        }

        return text.ToString();
    }

    internal static TimeSpan? GetRetryAfter(RetryConditionHeaderValue? header, TimeProvider timeProvider)
    {
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private static string? Hint(int status) => status switch
    {
        401 => "Check the access key in the connection string, that this machine's clock is correct (ACS refuses requests more than about 15 minutes off), and that the connection string's endpoint is the ACS resource that recorded the call.",
        403 => "The signature was accepted but the request is not allowed: check that the endpoint is the ACS resource that recorded the call.",
        404 => "The object does not exist: ACS keeps recordings for about 24 hours, and a deleted recording is gone.",
        416 => "The requested byte range is outside the object.",
        429 => "ACS is throttling requests; they are retried with back-off.",
        >= 500 => "ACS had a problem; the request is retried with back-off.",
        _ => null,
    };

    private static async Task<string?> ReadBodyPrefixAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[MaxBodyChars];
                var filled = 0;
                int read;
                while (filled < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                }

                return filled == 0 ? null : Encoding.UTF8.GetString(buffer, 0, filled);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return null;
        }
    }

    private static (string? Message, string? TraceId) Summarize(string? body, string? contentType)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }

        var trimmed = body.TrimStart();
        if (trimmed.StartsWith('{'))
        {
            try
            {
                using var document = JsonDocument.Parse(trimmed);
                var root = document.RootElement;
                var error = root.TryGetProperty("error", out var nested) && nested.ValueKind == JsonValueKind.Object ? nested : root;
                var message = FirstString(error, "detail", "message", "title", "code");
                var traceId = FirstString(root, "traceId", "requestId");
                return (message, traceId);
            }
            catch (JsonException)
            {
                // A truncated or invalid JSON body is still shown as text below.
            }
        }

        if (contentType?.Contains("html", StringComparison.OrdinalIgnoreCase) == true || trimmed.StartsWith('<'))
        {
            var title = HtmlTitle().Match(trimmed);
            var text = title.Success ? title.Groups[1].Value : HtmlTag().Replace(trimmed, " ");
            return (Collapse(text), null);
        }

        return (Collapse(trimmed), null);
    }

    private static string? FirstString(JsonElement element, params string[] names)
    {
        foreach (var name in names)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name.Equals(name, StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String)
                {
                    return property.Value.GetString();
                }
            }
        }

        return null;
    }

    private static string Collapse(string text)
    {
        var collapsed = Whitespace().Replace(text, " ").Trim();
        return collapsed.Length <= 300 ? collapsed : collapsed[..300] + "…";
    }

    [GeneratedRegex("<title[^>]*>(.*?)</title>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex HtmlTitle();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

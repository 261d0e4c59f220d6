using System.Globalization;
using System.Text.Json;

namespace CallVault.Events;

/// <summary>
/// Says why the data of a <c>RecordingFileStatusUpdated</c> event could not be read. The SDK's
/// <c>TryGetSystemEventData</c> only answers false when a value has the wrong type or format, so the operator looking at
/// a rejected event is told which field was wrong instead.
/// </summary>
internal static class UnreadableDataReason
{
    private const string Prefix = "The event's data is not a readable RecordingFileStatusUpdated: ";

    /// <summary>The first problem found in <paramref name="data"/>, as a sentence.</summary>
    public static string Describe(BinaryData? data)
    {
        if (data is null || data.ToMemory().IsEmpty)
        {
            return Prefix + "the event has no data.";
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException)
        {
            return Prefix + "its data is not JSON (a CloudEvent's data_base64 carries bytes, not a recording event).";
        }

        using (document)
        {
            return Prefix + (FirstProblem(document.RootElement) ?? "a value has the wrong type or format.");
        }
    }

    private static string? FirstProblem(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return $"data is a {Kind(root)}, not an object.";
        }

        if (root.TryGetProperty("recordingStartTime", out var start) && start.ValueKind != JsonValueKind.Null
            && (start.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(start.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _)))
        {
            return $"recordingStartTime {Shown(start)} is not an ISO 8601 date and time.";
        }

        if (root.TryGetProperty("recordingDurationMs", out var duration) && duration.ValueKind is not (JsonValueKind.Null or JsonValueKind.Number))
        {
            return $"recordingDurationMs {Shown(duration)} is not a number.";
        }

        if (!root.TryGetProperty("recordingStorageInfo", out var storage) || storage.ValueKind != JsonValueKind.Object)
        {
            return "recordingStorageInfo is missing or not an object.";
        }

        if (!storage.TryGetProperty("recordingChunks", out var chunks) || chunks.ValueKind != JsonValueKind.Array)
        {
            return "recordingStorageInfo.recordingChunks is missing or not an array.";
        }

        var position = 0;
        foreach (var chunk in chunks.EnumerateArray())
        {
            if (chunk.ValueKind != JsonValueKind.Object)
            {
                return $"recordingChunks[{position}] is a {Kind(chunk)}, not an object.";
            }

            if (chunk.TryGetProperty("index", out var index) && index.ValueKind is not (JsonValueKind.Null or JsonValueKind.Number))
            {
                return $"recordingChunks[{position}].index {Shown(index)} is not a number.";
            }

            foreach (var name in (string[])["documentId", "endReason", "contentLocation", "metadataLocation", "deleteLocation"])
            {
                if (chunk.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.String))
                {
                    return $"recordingChunks[{position}].{name} {Shown(value)} is not a string.";
                }
            }

            position++;
        }

        return null;
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    /// <summary>The value as JSON, cut to 80 characters so that a reason stays one readable line.</summary>
    private static string Shown(JsonElement element)
    {
        var text = element.GetRawText();
        return text.Length <= 80 ? text : text[..80] + "…";
    }
}

using System.Globalization;
using System.Text.Json;

namespace CallVault.Acs.Recordings;

/// <summary>
/// A chunk's metadata document (<c>acsmetadata</c>, fetched from the event's <c>metadataLocation</c>), parsed
/// leniently: unknown fields are ignored, numbers may arrive as strings (the oldest samples send <c>sampleRate</c> as
/// <c>"16000"</c>), <c>videoConfiguration</c> is missing for audio, and the early doc sample's swapped
/// <c>contentType</c>/<c>channelType</c> are put back in place.
/// </summary>
public sealed record RecordingMetadata
{
    /// <summary>The ACS resource's id.</summary>
    public string? ResourceId { get; init; }

    /// <summary>The call (group) id.</summary>
    public string? CallId { get; init; }

    /// <summary>The chunk's document id; the event's <c>documentId</c>.</summary>
    public string? ChunkDocumentId { get; init; }

    /// <summary>The chunk's position in the recording, from 0.</summary>
    public long? ChunkIndex { get; init; }

    /// <summary>When the chunk starts.</summary>
    public DateTimeOffset? ChunkStartTime { get; init; }

    /// <summary>The chunk's length.</summary>
    public TimeSpan? ChunkDuration { get; init; }

    /// <summary>Pauses inside the chunk.</summary>
    public IReadOnlyList<RecordingPause> Pauses { get; init; } = [];

    /// <summary><c>audio</c> or <c>audioVideo</c>.</summary>
    public string? ContentType { get; init; }

    /// <summary><c>mixed</c> or <c>unmixed</c>.</summary>
    public string? ChannelType { get; init; }

    /// <summary><c>wav</c>, <c>mp3</c> or <c>mp4</c>.</summary>
    public string? Format { get; init; }

    /// <summary>Audio sample rate, in Hz.</summary>
    public int? SampleRate { get; init; }

    /// <summary>Audio bit rate, in bits per second.</summary>
    public int? AudioBitRate { get; init; }

    /// <summary>Audio channels in the file.</summary>
    public int? AudioChannels { get; init; }

    /// <summary>Participants, with the audio channel each has in an unmixed recording.</summary>
    public IReadOnlyList<RecordingParticipant> Participants { get; init; } = [];

    /// <summary>Parses a metadata document.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a JSON object.</exception>
    public static RecordingMetadata Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The recording metadata is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("The recording metadata is not a JSON object.");
            }

            var info = Child(root, "recordingInfo");
            var audio = info is { } i ? Child(i, "audioConfiguration") : null;
            var contentType = info is { } ci ? String(ci, "contentType") : null;
            var channelType = info is { } ch ? String(ch, "channelType") : null;
            if (IsChannelType(contentType) && !IsChannelType(channelType))
            {
                (contentType, channelType) = (channelType, contentType);
            }

            return new RecordingMetadata
            {
                ResourceId = String(root, "resourceId"),
                CallId = String(root, "callId"),
                ChunkDocumentId = String(root, "chunkDocumentId"),
                ChunkIndex = Number(root, "chunkIndex") is { } index ? (long)index : null,
                ChunkStartTime = Time(root, "chunkStartTime"),
                ChunkDuration = Number(root, "chunkDuration") is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
                Pauses = Array(root, "pauseResumeIntervals")
                    .Select(p => new RecordingPause(Time(p, "startTime"), Number(p, "duration") is { } d ? TimeSpan.FromMilliseconds(d) : null))
                    .ToList(),
                ContentType = contentType,
                ChannelType = channelType,
                Format = info is { } f ? String(f, "format") : null,
                SampleRate = audio is { } a1 ? Int(a1, "sampleRate") : null,
                AudioBitRate = audio is { } a2 ? Int(a2, "bitRate") : null,
                AudioChannels = audio is { } a3 ? Int(a3, "channels") : null,
                Participants = Array(root, "participants")
                    .Select(p => new RecordingParticipant(String(p, "participantId") ?? string.Empty, Int(p, "channel")))
                    .ToList(),
            };
        }
    }

    private static bool IsChannelType(string? value) =>
        value is not null && (value.Equals("mixed", StringComparison.OrdinalIgnoreCase) || value.Equals("unmixed", StringComparison.OrdinalIgnoreCase));

    private static JsonElement? Child(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Object } child ? child : null;

    private static List<JsonElement> Array(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).ToList()
            : [];

    private static string? String(JsonElement element, string name) => Property(element, name) switch
    {
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        { ValueKind: JsonValueKind.Number } value => value.GetRawText(),
        _ => null,
    };

    private static double? Number(JsonElement element, string name) => Property(element, name) switch
    {
        { ValueKind: JsonValueKind.Number } value => value.GetDouble(),
        { ValueKind: JsonValueKind.String } value when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };

    private static int? Int(JsonElement element, string name) =>
        Number(element, name) is { } value && value is >= int.MinValue and <= int.MaxValue ? (int)value : null;

    private static DateTimeOffset? Time(JsonElement element, string name) =>
        String(element, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;

    private static JsonElement? Property(JsonElement element, string name)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }
}

/// <summary>A pause inside a chunk.</summary>
/// <param name="StartTime">When the pause began.</param>
/// <param name="Duration">How long it lasted.</param>
public sealed record RecordingPause(DateTimeOffset? StartTime, TimeSpan? Duration);

/// <summary>A participant of a recording.</summary>
/// <param name="ParticipantId">The raw identifier, e.g. <c>8:acs:...</c> or <c>4:+14255550123</c>.</param>
/// <param name="Channel">The participant's audio channel in an unmixed recording, from 0.</param>
public sealed record RecordingParticipant(string ParticipantId, int? Channel);

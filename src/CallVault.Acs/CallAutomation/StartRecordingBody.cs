using System.Text.Encodings.Web;
using System.Text.Json;

namespace CallVault.Acs.CallAutomation;

/// <summary>
/// The JSON of a <c>StartCallRecordingRequest</c>, written once per logical start so that every retry sends (and
/// signs) the same bytes. Properties left unset are omitted, so ACS applies its defaults. The order is the
/// JavaScript SDK's, so the same start is byte-for-byte the same request (a cross-check test holds us to it).
/// </summary>
internal static class StartRecordingBody
{
    /// <summary>The highest channel <c>channelAffinity</c> accepts.</summary>
    public const int MaxChannel = 4;

    // Escape only what JSON requires, as JSON.stringify does: the default encoder writes '+' of a phone number as
    // \u002B, the same value but other bytes, so another body hash than the SDKs'. The body is never put in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Serialize(StartRecordingRequest request)
    {
        Validate(request);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("callLocator");
            if (request.ServerCallId is not null)
            {
                writer.WriteString("serverCallId", request.ServerCallId);
                writer.WriteString("kind", "serverCallLocator");
            }
            else
            {
                writer.WriteString("groupCallId", request.GroupCallId);
                writer.WriteString("kind", "groupCallLocator");
            }

            writer.WriteEndObject();
            WriteIfSet(writer, "recordingStateCallbackUri", request.RecordingStateCallbackUri?.AbsoluteUri);
            WriteIfSet(writer, "recordingContentType", request.Content);
            WriteIfSet(writer, "recordingChannelType", request.Channel);
            WriteIfSet(writer, "recordingFormatType", request.Format);
            if (request.AudioChannelParticipantOrdering is { Count: > 0 } ordering)
            {
                writer.WriteStartArray("audioChannelParticipantOrdering");
                foreach (var rawId in ordering)
                {
                    CommunicationIdentifierJson.Write(writer, rawId);
                }

                writer.WriteEndArray();
            }

            if (request.ChannelAffinity is { Count: > 0 } affinity)
            {
                writer.WriteStartArray("channelAffinity");
                foreach (var entry in affinity)
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("channel", entry.Channel);
                    writer.WritePropertyName("participant");
                    CommunicationIdentifierJson.Write(writer, entry.ParticipantRawId);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            if (request.PauseOnStart)
            {
                writer.WriteBoolean("pauseOnStart", true);
            }

            if (request.ExternalStorageContainerUrl is { } container)
            {
                writer.WriteStartObject("externalStorage");
                writer.WriteString("recordingStorageKind", "azureBlobStorage");
                writer.WriteString("recordingDestinationContainerUrl", container.AbsoluteUri);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            writer.WriteString(name, value);
        }
    }

    private static void Validate(StartRecordingRequest request)
    {
        var hasServer = !string.IsNullOrWhiteSpace(request.ServerCallId);
        var hasGroup = !string.IsNullOrWhiteSpace(request.GroupCallId);
        if (hasServer == hasGroup)
        {
            throw new ArgumentException(
                hasServer ? "Name either a server call id or a group call id, not both." : "Name the call to record: a server call id or a group call id.",
                nameof(request));
        }

        foreach (var rawId in request.AudioChannelParticipantOrdering ?? [])
        {
            if (string.IsNullOrWhiteSpace(rawId))
            {
                throw new ArgumentException("A participant in the channel ordering has an empty raw id.", nameof(request));
            }
        }

        foreach (var entry in request.ChannelAffinity ?? [])
        {
            if (entry is null || entry.Channel is < 0 or > MaxChannel || string.IsNullOrWhiteSpace(entry.ParticipantRawId))
            {
                throw new ArgumentException($"A channel affinity needs a channel from 0 to {MaxChannel} and a participant's raw id.", nameof(request));
            }
        }

        if (request.ExternalStorageContainerUrl is { } container && (!container.IsAbsoluteUri || container.Scheme is not ("https" or "http")))
        {
            throw new ArgumentException("The external storage container URL must be an absolute https URL of a blob container.", nameof(request));
        }

        if (request.RecordingStateCallbackUri is { IsAbsoluteUri: false })
        {
            throw new ArgumentException("The recording state callback URI must be absolute.", nameof(request));
        }
    }
}

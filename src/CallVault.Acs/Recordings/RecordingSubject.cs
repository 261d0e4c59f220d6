namespace CallVault.Acs.Recordings;

/// <summary>
/// The ids in a <c>RecordingFileStatusUpdated</c> event's subject, read as key/value path segments, never by position:
/// GA <c>/recording/call/{callId}/serverCallId/{serverCallId}/recordingId/{recordingId}</c>, the form without
/// <c>recordingId</c>, and the 2021 preview's <c>/recording/call/{callId}/recordingId/{recordingId}</c> all parse.
/// </summary>
/// <param name="CallId">The call id, when present.</param>
/// <param name="ServerCallId">The server call id, when present.</param>
/// <param name="RecordingId">The recording id, when present.</param>
public sealed record RecordingSubject(string? CallId, string? ServerCallId, string? RecordingId)
{
    /// <summary>Parses a subject; segments it does not know are ignored.</summary>
    public static RecordingSubject Parse(string? subject)
    {
        var segments = (subject ?? string.Empty).Split('/', StringSplitOptions.RemoveEmptyEntries);
        var start = segments.Length > 0 && segments[0].Equals("recording", StringComparison.OrdinalIgnoreCase) ? 1 : 0;
        string? callId = null, serverCallId = null, recordingId = null;
        for (var i = start; i + 1 < segments.Length; i += 2)
        {
            var value = Uri.UnescapeDataString(segments[i + 1]);
            switch (segments[i].ToUpperInvariant())
            {
                case "CALL":
                    callId ??= value;
                    break;
                case "SERVERCALLID":
                    serverCallId ??= value;
                    break;
                case "RECORDINGID":
                    recordingId ??= value;
                    break;
            }
        }

        return new RecordingSubject(callId, serverCallId, recordingId);
    }
}

using CallVault.Emulator.Media;

namespace CallVault.Emulator.Recordings;

/// <summary>A recorded call held by the emulator.</summary>
public sealed class EmulatedRecording
{
    /// <summary>The recording id (in the event subject).</summary>
    public required string RecordingId { get; init; }

    /// <summary>The call id.</summary>
    public required string CallId { get; init; }

    /// <summary>The server call id.</summary>
    public required string ServerCallId { get; init; }

    /// <summary>When the recording started.</summary>
    public required DateTimeOffset StartTime { get; init; }

    /// <summary>The recording's length.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary><c>audio</c> or <c>audioVideo</c>.</summary>
    public required string ContentType { get; init; }

    /// <summary><c>mixed</c> or <c>unmixed</c>.</summary>
    public required string ChannelType { get; init; }

    /// <summary><c>wav</c>, <c>mp3</c> or <c>mp4</c>.</summary>
    public required string Format { get; init; }

    /// <summary>Participant raw ids, in channel order.</summary>
    public required IReadOnlyList<string> Participants { get; init; }

    /// <summary>The chunks, by index.</summary>
    public IReadOnlyList<EmulatedChunk> Chunks { get; internal set; } = [];

    /// <summary>How the events are shaped and delivered.</summary>
    public required RecordingSpec Spec { get; init; }

    /// <summary>Where the files were exported (Bring Your Own Storage), or why that failed; null when not asked to.</summary>
    public Storage.RecordingExport? Export { get; internal set; }

    /// <summary>After this time the recording's objects answer 404.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The Event Grid subject: <c>/recording/call/{callId}/serverCallId/{serverCallId}/recordingId/{recordingId}</c>.</summary>
    public string Subject => $"/recording/call/{CallId}/serverCallId/{ServerCallId}/recordingId/{RecordingId}";

    /// <summary>The 2021-preview subject: <c>/recording/call/{callId}/recordingId/{recordingId}</c>.</summary>
    public string PreviewSubject => $"/recording/call/{CallId}/recordingId/{RecordingId}";
}

/// <summary>One chunk: a media object and its metadata document.</summary>
public sealed class EmulatedChunk
{
    /// <summary>The document id, e.g. <c>0-eus-d2-0123…</c>.</summary>
    public required string DocumentId { get; init; }

    /// <summary>Position in the recording, from 0.</summary>
    public required int Index { get; init; }

    /// <summary><c>ChunkMaximumSizeExceeded</c>, <c>ChunkMaximumDurationExceeded</c> or, for the last, <c>SessionEnded</c>.</summary>
    public required string EndReason { get; init; }

    /// <summary>The last path segment of the content location: <c>audio</c> or <c>video</c>.</summary>
    public required string ContentKind { get; init; }

    /// <summary>The media bytes.</summary>
    public required IMediaSource Media { get; init; }

    /// <summary>The chunk's metadata document (<c>acsmetadata</c> JSON), served at its <c>metadataLocation</c>.</summary>
    public required byte[] Metadata { get; init; }

    /// <summary>Lower-case hex SHA-256 of the media.</summary>
    public required string Sha256 { get; init; }

    /// <summary>The strong ETag served with the media.</summary>
    public string ETag => $"\"{Sha256[..32]}\"";

    /// <summary>The recording the chunk belongs to.</summary>
    public required EmulatedRecording Recording { get; init; }
}

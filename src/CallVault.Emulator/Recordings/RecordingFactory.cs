using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using CallVault.Emulator.Media;

namespace CallVault.Emulator.Recordings;

/// <summary>
/// Turns a <see cref="RecordingSpec"/> into a recording: plans its chunks by size and duration limits, produces their
/// media and metadata documents, and hashes each chunk.
/// </summary>
internal sealed class RecordingFactory(TimeProvider timeProvider, TimeSpan retention, FfmpegEncoder encoder, string resourceId)
{
    private const int SampleRate = 16_000;
    private const long SyntheticBytesPerSecond = 32_000;
    private static readonly JsonSerializerOptions MetadataJson = new() { WriteIndented = true };

    /// <summary>Records a call.</summary>
    /// <param name="spec">What the recording holds.</param>
    /// <param name="identity">The ids and start of a recording started through Call Automation; null for a new
    /// call that ended just now, with generated ids.</param>
    public EmulatedRecording Create(RecordingSpec spec, RecordingIdentity? identity = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var contentType = Normalize(spec.ContentType, "contentType", "audio", "audioVideo");
        var channelType = Normalize(spec.ChannelType, "channelType", "mixed", "unmixed");
        var format = Normalize(spec.Format ?? (contentType == "audioVideo" ? "mp4" : "wav"), "format", "wav", "mp3", "mp4");
        var media = Normalize(spec.Media, "media", "tone", "synthetic");
        Normalize(spec.EventShape, "eventShape", "ga", "preview2021");
        if (contentType == "audioVideo" && (format != "mp4" || channelType != "mixed"))
        {
            throw new EmulatorRequestException("audioVideo recordings are mixed mp4, as ACS produces them.");
        }

        if (channelType == "unmixed" && format != "wav")
        {
            throw new EmulatorRequestException("Unmixed audio is recorded as wav only.");
        }

        if (spec.DurationSeconds is <= 0 or > 7 * 24 * 3600)
        {
            throw new EmulatorRequestException("durationSeconds must be above 0 and at most 7 days.");
        }

        var participants = spec.Participants is { Count: > 0 } given
            ? given
            : [$"8:acs:{Guid.NewGuid()}_{Guid.NewGuid():N}", "4:+14255550123"];
        var channels = channelType == "unmixed" ? participants.Count : 1;
        if (channels > 5)
        {
            throw new EmulatorRequestException("Unmixed audio has at most 5 channels (one per participant).");
        }

        var now = timeProvider.GetUtcNow();
        var duration = TimeSpan.FromSeconds(spec.DurationSeconds);
        var recording = new EmulatedRecording
        {
            RecordingId = identity?.RecordingId ?? NewRecordingId(),
            CallId = identity?.CallId ?? Guid.NewGuid().ToString(),
            ServerCallId = identity?.ServerCallId ?? NewServerCallId(),
            StartTime = identity?.StartTime ?? now - duration,
            Duration = duration,
            ContentType = contentType,
            ChannelType = channelType,
            Format = format,
            Participants = participants,
            Spec = spec,
            ExpiresAt = now + retention,
        };

        var plans = media == "synthetic"
            ? PlanSynthetic(spec, duration)
            : PlanTone(spec, duration, channels);
        var contentKind = contentType == "audioVideo" ? "video" : "audio";
        var chunks = new List<EmulatedChunk>(plans.Count);
        foreach (var plan in plans)
        {
            var documentId = $"0-eus-d{plan.Index % 20}-{Guid.NewGuid():N}";
            var source = media == "synthetic"
                ? new SyntheticMedia(BitConverter.ToUInt64(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(documentId)), 0), plan.Bytes, MimeType(format))
                : ToneMedia(plan, spec, recording, channels, format);
            chunks.Add(new EmulatedChunk
            {
                DocumentId = documentId,
                Index = plan.Index,
                EndReason = plan.EndReason,
                ContentKind = contentKind,
                Media = source,
                Metadata = BuildMetadata(recording, plan, documentId, channels),
                Sha256 = HashOf(source),
                Recording = recording,
            });
        }

        recording.Chunks = chunks;
        return recording;
    }

    /// <summary>A new recording id, shaped as ACS's: base64url of a small JSON document.</summary>
    public static string NewRecordingId() =>
        Base64Url($"{{\"PlatformEndpointId\":\"{Guid.NewGuid()}\",\"ResourceSpecificId\":\"{Guid.NewGuid()}\"}}");

    /// <summary>A new server call id, shaped as ACS's: base64url of a conversation URL.</summary>
    public static string NewServerCallId() => Base64Url($"https://api.flightproxy.skype.com/api/v2/cpconv/{Guid.NewGuid():N}");

    private IMediaSource ToneMedia(ChunkPlan plan, RecordingSpec spec, EmulatedRecording recording, int channels, string format)
    {
        var silences = (spec.Pauses ?? [])
            .Select(p => ((long)(p.StartSeconds * SampleRate), (long)((p.StartSeconds + p.DurationSeconds) * SampleRate)))
            .ToList();
        var wave = new ToneWaveMedia(SampleRate, channels, plan.FirstFrame, plan.Frames, silences);
        return format == "wav" ? wave : encoder.Encode(wave, format, video: recording.ContentType == "audioVideo");
    }

    private static List<ChunkPlan> PlanTone(RecordingSpec spec, TimeSpan duration, int channels)
    {
        var totalFrames = (long)(duration.TotalSeconds * SampleRate);

        // Compressed formats are encoded from the WAV; the size limit is applied to the WAV, which is larger.
        var framesBySize = (spec.ChunkSizeLimitBytes - ToneWaveMedia.HeaderLength) / (channels * 2);
        var framesByDuration = (long)(spec.ChunkDurationLimitSeconds * SampleRate);
        if (framesBySize < 1)
        {
            throw new EmulatorRequestException("chunkSizeLimitBytes is too small for one audio frame.");
        }

        var perChunk = Math.Min(framesBySize, framesByDuration);
        var sizeLimited = framesBySize <= framesByDuration;
        var plans = new List<ChunkPlan>();
        for (long first = 0, index = 0; first < totalFrames; first += perChunk, index++)
        {
            var frames = Math.Min(perChunk, totalFrames - first);
            var last = first + frames >= totalFrames;
            plans.Add(new ChunkPlan(
                (int)index,
                last ? "SessionEnded" : sizeLimited ? "ChunkMaximumSizeExceeded" : "ChunkMaximumDurationExceeded",
                first,
                frames,
                ToneWaveMedia.HeaderLength + (frames * channels * 2),
                TimeSpan.FromSeconds((double)first / SampleRate),
                TimeSpan.FromSeconds((double)frames / SampleRate)));
        }

        return plans;
    }

    private static List<ChunkPlan> PlanSynthetic(RecordingSpec spec, TimeSpan duration)
    {
        var total = spec.SizeBytes ?? Math.Max(1, (long)(duration.TotalSeconds * SyntheticBytesPerSecond));
        var bytesPerSecond = total / Math.Max(duration.TotalSeconds, 0.001);
        var bytesByDuration = (long)(spec.ChunkDurationLimitSeconds * bytesPerSecond);
        var perChunk = Math.Max(1, Math.Min(spec.ChunkSizeLimitBytes, bytesByDuration));
        var sizeLimited = spec.ChunkSizeLimitBytes <= bytesByDuration;
        var plans = new List<ChunkPlan>();
        for (long first = 0, index = 0; first < total; first += perChunk, index++)
        {
            var bytes = Math.Min(perChunk, total - first);
            var last = first + bytes >= total;
            plans.Add(new ChunkPlan(
                (int)index,
                last ? "SessionEnded" : sizeLimited ? "ChunkMaximumSizeExceeded" : "ChunkMaximumDurationExceeded",
                0,
                0,
                bytes,
                TimeSpan.FromSeconds(first / bytesPerSecond),
                TimeSpan.FromSeconds(bytes / bytesPerSecond)));
        }

        return plans;
    }

    private byte[] BuildMetadata(EmulatedRecording recording, ChunkPlan plan, string documentId, int channels)
    {
        var chunkStart = recording.StartTime + plan.Offset;
        var chunkEnd = chunkStart + plan.Duration;
        var pauses = (recording.Spec.Pauses ?? [])
            .Select(p => (Start: recording.StartTime + TimeSpan.FromSeconds(p.StartSeconds), Duration: TimeSpan.FromSeconds(p.DurationSeconds)))
            .Where(p => p.Start >= chunkStart && p.Start < chunkEnd)
            .Select(p => new { startTime = p.Start.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), duration = (long)p.Duration.TotalMilliseconds })
            .ToList();
        object? video = recording.ContentType == "audioVideo"
            ? new { longerSideLength = 1920, shorterSideLength = 1080, framerate = 8, bitRate = 1_000_000 }
            : null;
        var document = new Dictionary<string, object?>
        {
            ["resourceId"] = resourceId,
            ["callId"] = recording.CallId,
            ["chunkDocumentId"] = documentId,
            ["chunkIndex"] = plan.Index,
            ["chunkStartTime"] = chunkStart.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["chunkDuration"] = Math.Round(plan.Duration.TotalMilliseconds, 1),
            ["pauseResumeIntervals"] = pauses,
            ["recordingInfo"] = new Dictionary<string, object?>
            {
                ["contentType"] = recording.ContentType,
                ["channelType"] = recording.ChannelType,
                ["format"] = recording.Format,
                ["audioConfiguration"] = new { sampleRate = SampleRate, bitRate = SampleRate * 16 * channels, channels },
                ["videoConfiguration"] = video,
            },
            ["participants"] = recording.Participants
                .Select((id, channel) => recording.ChannelType == "unmixed" ? (object)new { participantId = id, channel } : new { participantId = id })
                .ToList(),
        };
        if (video is null)
        {
            ((Dictionary<string, object?>)document["recordingInfo"]!).Remove("videoConfiguration");
        }

        return JsonSerializer.SerializeToUtf8Bytes(document, MetadataJson);
    }

    private static string HashOf(IMediaSource media)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            for (long offset = 0; offset < media.Length; offset += buffer.Length)
            {
                var count = (int)Math.Min(buffer.Length, media.Length - offset);
                media.Read(offset, buffer.AsSpan(0, count));
                hash.AppendData(buffer, 0, count);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string MimeType(string format) => format switch
    {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => "video/mp4",
    };

    private static string Normalize(string? value, string field, params string[] allowed)
    {
        foreach (var candidate in allowed)
        {
            if (string.Equals(value, candidate, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        throw new EmulatorRequestException($"{field} must be one of {string.Join(", ", allowed)}; got '{value}'.");
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed record ChunkPlan(int Index, string EndReason, long FirstFrame, long Frames, long Bytes, TimeSpan Offset, TimeSpan Duration);
}

/// <summary>The ids and start time of a recording started through Call Automation, kept in its files.</summary>
internal sealed record RecordingIdentity(string RecordingId, string CallId, string ServerCallId, DateTimeOffset StartTime);

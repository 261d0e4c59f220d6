using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CallVault.Jobs;

namespace CallVault.Storage;

/// <summary>
/// Where a recording's files go: <c>{yyyy}/{MM}/{dd}/{callId}/{recordingId}/chunk-{index}.{ext}</c>, its metadata
/// beside it, and <c>manifest.json</c> for the recording. Every segment is sanitised here, so that nothing an event
/// says can produce a path outside the store.
/// </summary>
public static class RecordingLayout
{
    /// <summary>The longest segment kept as is; longer ones are shortened and given a hash suffix. 80 characters.</summary>
    public const int MaxSegmentLength = 80;

    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "manifest.json";

    /// <summary>The folder of a recording.</summary>
    public static string FolderOf(RecordingInfo recording, DateTimeOffset fallbackTime)
    {
        ArgumentNullException.ThrowIfNull(recording);
        var day = (recording.StartTime ?? fallbackTime).UtcDateTime;
        return string.Join(
            '/',
            day.ToString("yyyy", CultureInfo.InvariantCulture),
            day.ToString("MM", CultureInfo.InvariantCulture),
            day.ToString("dd", CultureInfo.InvariantCulture),
            Segment(recording.CallId ?? "unknown-call"),
            Segment(recording.RecordingId ?? recording.Key));
    }

    /// <summary>The media file of a chunk.</summary>
    public static string MediaPath(string folder, long index, string extension) =>
        $"{folder}/chunk-{index.ToString("D3", CultureInfo.InvariantCulture)}.{Segment(extension)}";

    /// <summary>The metadata document of a chunk.</summary>
    public static string MetadataPath(string folder, long index) =>
        $"{folder}/chunk-{index.ToString("D3", CultureInfo.InvariantCulture)}.metadata.json";

    /// <summary>The manifest of a recording.</summary>
    public static string ManifestPath(string folder) => $"{folder}/{ManifestName}";

    /// <summary>The file extension for a recording format (<c>wav</c>, <c>mp3</c>, <c>mp4</c>), or <c>bin</c>.</summary>
    public static string ExtensionFor(string? format) => format?.ToUpperInvariant() switch
    {
        "WAV" => "wav",
        "MP3" => "mp3",
        "MP4" => "mp4",
        _ => "bin",
    };

    /// <summary>
    /// A safe path segment: ASCII letters, digits, <c>-</c>, <c>_</c> and <c>.</c> kept, everything else replaced by
    /// <c>_</c>; never empty, never <c>.</c> or <c>..</c>; long values shortened with a hash suffix so they stay unique.
    /// </summary>
    public static string Segment(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(Math.Min(value.Length, MaxSegmentLength));
        foreach (var c in value)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : c == '.' ? '.' : '_');
        }

        var text = builder.ToString().Trim('.');
        if (text.Length == 0)
        {
            text = "_";
        }

        if (text.Length > MaxSegmentLength)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..12];
            text = text[..(MaxSegmentLength - 13)] + "-" + hash;
        }

        return text;
    }

    /// <summary>Whether a store-relative path is well formed: segments of safe characters, none empty, <c>.</c> or <c>..</c>.</summary>
    public static bool IsValidPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || segment.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.')))
            {
                return false;
            }
        }

        return true;
    }
}

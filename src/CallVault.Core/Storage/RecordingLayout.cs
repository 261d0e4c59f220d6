using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
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

    /// <summary>Hex digits of the hash a changed segment ends with: 20 (80 bits).</summary>
    public const int HashSuffixLength = 20;

    /// <summary>The manifest's file name.</summary>
    public const string ManifestName = "manifest.json";

    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

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
            recording.RecordingId is { } recordingId ? Segment(recordingId) : KeySegment(recording.Key));
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
    /// A safe path segment, distinct for every distinct value. A value made only of ASCII letters, digits, <c>-</c>,
    /// <c>_</c> and <c>.</c> (not starting or ending with <c>.</c>, at most <see cref="MaxSegmentLength"/> long) is kept
    /// as it is. Any other value is made readable (unsafe characters become <c>_</c>, outer dots are dropped, long values
    /// are cut) and given <c>-</c> and <see cref="HashSuffixLength"/> hex digits of the SHA-256 of the original, so two
    /// values can only meet by a hash collision. A value that already ends like such a suffix is hashed too, so no literal
    /// value can take another value's segment.
    /// </summary>
    public static string Segment(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (IsKeptAsIs(value))
        {
            return value;
        }

        var builder = new StringBuilder(Math.Min(value.Length, MaxSegmentLength));
        foreach (var c in value)
        {
            builder.Append(IsSafe(c) ? c : '_');
        }

        var readable = builder.ToString().Trim('.');
        var room = MaxSegmentLength - HashSuffixLength - 1;
        if (readable.Length > room)
        {
            readable = readable[..room].TrimEnd('.');
        }

        if (readable.Length == 0)
        {
            readable = "_";
        }

        // UTF-16 code units, not UTF-8: two strings with different lone surrogates must not hash alike.
        var hash = SHA256.HashData(MemoryMarshal.AsBytes(value.AsSpan()));
        return readable + "-" + Convert.ToHexStringLower(hash)[..HashSuffixLength];
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

    /// <summary>
    /// A recording key is made by <see cref="Segment"/> already, so it names the folder as it is; an older or foreign key
    /// that is not a single safe segment is made one.
    /// </summary>
    private static string KeySegment(string key) =>
        key.Length <= MaxSegmentLength && IsValidPath(key) && !key.Contains('/', StringComparison.Ordinal) ? key : Segment(key);

    private static bool IsSafe(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

    private static bool IsKeptAsIs(string value)
    {
        if (value.Length == 0 || value.Length > MaxSegmentLength || value[0] == '.' || value[^1] == '.' || !value.All(IsSafe))
        {
            return false;
        }

        // Something that looks like a hashed segment ("-" and the hex suffix) could be another value's segment.
        var suffix = value.AsSpan()[Math.Max(0, value.Length - HashSuffixLength)..];
        var looksHashed = value.Length > HashSuffixLength
            && value[^(HashSuffixLength + 1)] == '-'
            && suffix.IndexOfAnyExcept(LowerHexDigits) < 0;
        return !looksHashed;
    }
}

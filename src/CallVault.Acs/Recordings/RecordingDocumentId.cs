namespace CallVault.Acs.Recordings;

/// <summary>Checks ACS document ids (e.g. <c>0-weu-d4-5f1c0b7e9a2d4c3b8e6f1a2b3c4d5e6f</c>) before they go into a URL or a file name.</summary>
public static class RecordingDocumentId
{
    /// <summary>The longest id accepted: 256 characters.</summary>
    public const int MaxLength = 256;

    /// <summary>
    /// Whether <paramref name="documentId"/> is 1 to 256 characters of ASCII letters, digits, <c>-</c>, <c>_</c> and
    /// <c>.</c>, and is neither <c>.</c> nor <c>..</c>. Anything else (a <c>/</c>, <c>%</c>, white space) is refused.
    /// </summary>
    public static bool IsValid(string? documentId)
    {
        if (string.IsNullOrEmpty(documentId) || documentId.Length > MaxLength || documentId is "." or "..")
        {
            return false;
        }

        foreach (var c in documentId)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}

namespace CallVault.Events;

/// <summary>
/// The limits on text the webhook sends to the job database, checked before a delivery is committed so that one event
/// the database would refuse cannot fail the commit it shares with other deliveries.
/// </summary>
/// <remarks>
/// PostgreSQL refuses NUL in text and limits a B-tree index entry to 2,704 bytes (a third of an 8 KiB page); SQLite
/// accepts both, so PostgreSQL's limits govern. Indexed values (event id, recording key, call id, document id) are
/// held to 256 UTF-16 units, at most 768 bytes of UTF-8, so even the two-column indexes stay under the limit.
/// Unindexed values get a generous bound that no real event comes near.
/// </remarks>
public static class StoredText
{
    /// <summary>Event ids, call, server-call and recording ids, and recording keys: 256 characters.</summary>
    public const int MaxIndexedLength = 256;

    /// <summary>Short descriptive values (end reasons, content, channel and format types): 256 characters.</summary>
    public const int MaxShortTextLength = 256;

    /// <summary>Event topics and subjects: 1,024 characters.</summary>
    public const int MaxPathLength = 1_024;

    /// <summary>Content, metadata and delete locations: 2,048 characters.</summary>
    public const int MaxLocationLength = 2_048;

    /// <summary>Whether <paramref name="text"/> holds no NUL and no unpaired surrogate (neither can be stored as UTF-8 text in PostgreSQL).</summary>
    public static bool IsClean(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Why <paramref name="value"/> cannot be stored as <paramref name="what"/>, or null when it can.</summary>
    /// <param name="what">What the value is, for the message (e.g. <c>the event id</c>).</param>
    /// <param name="value">The value; null passes unless <paramref name="required"/>.</param>
    /// <param name="maxLength">The longest value accepted, in UTF-16 units.</param>
    /// <param name="required">Whether a null or empty value is a problem.</param>
    public static string? Problem(string what, string? value, int maxLength, bool required = false)
    {
        if (string.IsNullOrEmpty(value))
        {
            return required ? $"{what} is missing or empty." : null;
        }

        if (value.Length > maxLength)
        {
            return $"{what} is {value.Length} characters long; at most {maxLength} are accepted.";
        }

        return IsClean(value) ? null : $"{what} contains a NUL character or an unpaired surrogate, which cannot be stored as text.";
    }
}

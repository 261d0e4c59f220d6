namespace CallVault.Jobs;

/// <summary>
/// The terms a participant can be found by: its raw id (<c>4:+14255550123</c>, <c>8:acs:…</c>), the same without the
/// kind prefix (<c>+14255550123</c>, <c>acs:…</c>) and, for a phone number, its digits alone (<c>14255550123</c>).
/// Whole terms rather than substrings, so that a search is one index lookup at any number of recordings.
/// </summary>
internal static class ParticipantSearch
{
    public static IEnumerable<string> TermsOf(string rawId)
    {
        var id = rawId.Trim();
        if (id.Length == 0)
        {
            yield break;
        }

        yield return id;
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && colon < id.Length - 1 && id[..colon].All(char.IsAsciiDigit))
        {
            var withoutKind = id[(colon + 1)..];
            yield return withoutKind;
            if (withoutKind.StartsWith('+') && withoutKind.Length > 1)
            {
                yield return withoutKind[1..];
            }
        }
    }
}

namespace CallVault.Jobs.AdoNet;

/// <summary>The participant search terms of recordings (<c>recording_participants</c>).</summary>
internal static class ParticipantTerms
{
    public static async Task IndexAsync(SqlSession session, string recordingKey, IEnumerable<string> participants, CancellationToken cancellationToken)
    {
        foreach (var term in participants.SelectMany(ParticipantSearch.TermsOf).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            await session.ExecuteAsync(
                "INSERT INTO recording_participants (participant, recording_key) VALUES (@term, @key) ON CONFLICT (participant, recording_key) DO NOTHING;",
                cancellationToken,
                ("@term", term), ("@key", recordingKey)).ConfigureAwait(false);
        }
    }
}

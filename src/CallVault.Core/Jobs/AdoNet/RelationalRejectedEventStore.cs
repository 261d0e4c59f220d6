using System.Security.Cryptography;
using System.Text;
using CallVault.Events;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The rejected-events role of the relational job database (table <c>rejected_events</c>, created by the job schema's
/// migrations). The SQL is the same on SQLite and PostgreSQL; it shares the job store's <see cref="RelationalDatabase"/>,
/// so its connections are set up the same way (on SQLite, <c>synchronous=FULL</c>: a recorded refusal survives a power cut).
/// </summary>
public sealed class RelationalRejectedEventStore(RelationalDatabase database) : IRejectedEventStore
{
    /// <inheritdoc />
    public Task RecordAsync(IReadOnlyList<RejectedEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return Task.CompletedTask;
        }

        // Rows are written in fingerprint order, so two deliveries holding the same refusals cannot deadlock on PostgreSQL.
        var rows = events.Select(Row).GroupBy(r => r.Fingerprint, StringComparer.Ordinal).Select(g => g.Last()).OrderBy(r => r.Fingerprint, StringComparer.Ordinal).ToList();
        return database.WriteAsync(
            async session =>
            {
                var now = database.Now();
                foreach (var row in rows)
                {
                    await session.ExecuteAsync(
                        """
                        INSERT INTO rejected_events (fingerprint, event_id, event_type, reason, raw_json, raw_length, delivery_id, first_seen_at, last_seen_at, occurrences)
                        VALUES (@fingerprint, @id, @type, @reason, @raw, @length, @delivery, @now, @now, 1)
                        ON CONFLICT (fingerprint) DO UPDATE SET
                            last_seen_at = excluded.last_seen_at,
                            delivery_id = excluded.delivery_id,
                            occurrences = rejected_events.occurrences + 1;
                        """,
                        cancellationToken,
                        ("@fingerprint", row.Fingerprint), ("@id", row.EventId), ("@type", row.EventType), ("@reason", row.Reason),
                        ("@raw", row.RawJson), ("@length", row.RawLength), ("@delivery", row.DeliveryId), ("@now", now)).ConfigureAwait(false);
                }

                return rows.Count;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RejectedEventRecord>> ListAsync(int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                """
                SELECT fingerprint, event_id, event_type, reason, raw_json, raw_length, delivery_id, first_seen_at, last_seen_at, occurrences
                FROM rejected_events ORDER BY last_seen_at DESC, fingerprint LIMIT @take;
                """,
                reader => new RejectedEventRecord
                {
                    Fingerprint = reader.GetString(0),
                    EventId = reader.IsDBNull(1) ? null : reader.GetString(1),
                    EventType = reader.IsDBNull(2) ? null : reader.GetString(2),
                    Reason = reader.GetString(3),
                    RawJson = reader.GetString(4),
                    RawLength = reader.GetInt64(5),
                    DeliveryId = reader.IsDBNull(6) ? null : reader.GetString(6),
                    FirstSeenAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                    LastSeenAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
                    Occurrences = reader.GetInt64(9),
                },
                cancellationToken,
                ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<long> CountAsync(CancellationToken cancellationToken) => database.ReadAsync(
        async session => Convert.ToInt64(await session.ScalarAsync("SELECT COUNT(*) FROM rejected_events;", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture),
        cancellationToken);

    private static StoredRow Row(RejectedEvent rejected)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        var raw = Clean(rejected.RawJson ?? string.Empty);
        var reason = Clean(rejected.Reason ?? string.Empty);
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw + "\n" + reason)));
        return new StoredRow(
            fingerprint,
            CleanAndCut(rejected.EventId, RejectedEventLimits.MaxIdLength),
            CleanAndCut(rejected.EventType, RejectedEventLimits.MaxIdLength),
            CleanAndCut(reason, RejectedEventLimits.MaxReasonLength)!,
            CleanAndCut(raw, RejectedEventLimits.MaxRawJsonLength)!,
            raw.Length,
            CleanAndCut(rejected.DeliveryId, RejectedEventLimits.MaxIdLength));
    }

    /// <summary>Cuts first, then cleans, so that a surrogate pair split by the cut becomes U+FFFD rather than invalid text.</summary>
    private static string? CleanAndCut(string? text, int maxLength) =>
        text is null ? null : Clean(text.Length > maxLength ? text[..maxLength] : text);

    /// <summary>
    /// Replaces what a database cannot hold as text: NUL (PostgreSQL refuses it) and unpaired surrogates (not
    /// encodable as UTF-8).
    /// </summary>
    private static string Clean(string text)
    {
        if (StoredText.IsClean(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    private sealed record StoredRow(string Fingerprint, string? EventId, string? EventType, string Reason, string RawJson, long RawLength, string? DeliveryId);
}

using System.Globalization;
using System.Text;
using CallVault.Audit;
using CallVault.Events;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The access audit role in SQL (table <c>access_audit</c>, migration 6), the same on SQLite and PostgreSQL. Records are
/// ordered by their time and then their id (random, so records of one millisecond come in no particular order); a
/// cursor names the last record of a page as <c>{time}.{id}</c>, so paging is an index range scan and is not disturbed
/// by records appended meanwhile.
/// </summary>
public sealed class AdoNetAccessAuditLog(RelationalDatabase database) : IAccessAuditLog
{
    private static readonly System.Buffers.SearchValues<char> LowerHexDigits = System.Buffers.SearchValues.Create("0123456789abcdef");

    private const string Columns = "id, at, who, action, recording_key, document_id, chunk_index, bytes, remote_address, status, aborted";

    /// <inheritdoc />
    public Task AppendAsync(IReadOnlyList<AccessAuditEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return Task.CompletedTask;
        }

        return database.WriteAsync(
            async session =>
            {
                var now = database.Now();
                foreach (var entry in entries)
                {
                    ArgumentNullException.ThrowIfNull(entry);
                    await session.ExecuteAsync(
                        $"INSERT INTO access_audit ({Columns}) VALUES (@id, @at, @who, @action, @recording, @document, @index, @bytes, @remote, @status, @aborted);",
                        cancellationToken,
                        ("@id", Guid.CreateVersion7(database.TimeProvider.GetUtcNow()).ToString("N")),
                        ("@at", now),
                        ("@who", Cut(entry.Who) ?? string.Empty),
                        ("@action", Cut(entry.Action) ?? string.Empty),
                        ("@recording", Cut(entry.RecordingKey)),
                        ("@document", Cut(entry.DocumentId)),
                        ("@index", entry.ChunkIndex),
                        ("@bytes", entry.Bytes),
                        ("@remote", Cut(entry.RemoteAddress)),
                        ("@status", entry.Status),
                        ("@aborted", entry.Aborted ? 1 : 0)).ConfigureAwait(false);
                }

                return entries.Count;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<AccessAuditPage> ListAsync(AccessAuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var take = Math.Clamp(query.Take, 1, 1000);

        // Only the conditions asked for are written, so that no parameter is ever a bare NULL (PostgreSQL cannot type one).
        var conditions = new List<string>();
        var parameters = new List<(string Name, object? Value)> { ("@take", take + 1) };
        if (query.Since is { } since)
        {
            conditions.Add("at >= @since");
            parameters.Add(("@since", since.ToUnixTimeMilliseconds()));
        }

        if (query.Until is { } until)
        {
            conditions.Add("at < @until");
            parameters.Add(("@until", until.ToUnixTimeMilliseconds()));
        }

        if (query.Who is not null)
        {
            conditions.Add("who = @who");
            parameters.Add(("@who", query.Who));
        }

        if (query.RecordingKey is not null)
        {
            conditions.Add("recording_key = @recording");
            parameters.Add(("@recording", query.RecordingKey));
        }

        if (query.Before is not null)
        {
            var (at, id) = ParseCursor(query.Before);
            conditions.Add("(at < @cursor_at OR (at = @cursor_at AND id < @cursor_id))");
            parameters.Add(("@cursor_at", at));
            parameters.Add(("@cursor_id", id));
        }

        var where = conditions.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", conditions);
        var rows = await database.ReadAsync(
            session => session.QueryAsync(
                $"SELECT {Columns} FROM access_audit {where} ORDER BY at DESC, id DESC LIMIT @take;",
                reader => new AccessAuditRecord
                {
                    Id = reader.GetString(0),
                    At = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                    Entry = new AccessAuditEntry
                    {
                        Who = reader.GetString(2),
                        Action = reader.GetString(3),
                        RecordingKey = reader.IsDBNull(4) ? null : reader.GetString(4),
                        DocumentId = reader.IsDBNull(5) ? null : reader.GetString(5),
                        ChunkIndex = reader.IsDBNull(6) ? null : reader.GetInt64(6),
                        Bytes = reader.GetInt64(7),
                        RemoteAddress = reader.IsDBNull(8) ? null : reader.GetString(8),
                        Status = Convert.ToInt32(reader.GetValue(9), CultureInfo.InvariantCulture),
                        Aborted = Convert.ToInt64(reader.GetValue(10), CultureInfo.InvariantCulture) != 0,
                    },
                },
                cancellationToken,
                [.. parameters]),
            cancellationToken).ConfigureAwait(false);

        if (rows.Count <= take)
        {
            return new AccessAuditPage(rows, null);
        }

        rows.RemoveAt(take);
        var last = rows[^1];
        return new AccessAuditPage(rows, string.Create(CultureInfo.InvariantCulture, $"{last.At.ToUnixTimeMilliseconds()}.{last.Id}"));
    }

    private static (long At, string Id) ParseCursor(string cursor)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0
            && long.TryParse(cursor.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var at)
            && cursor.Length - dot - 1 == 32
            && !cursor.AsSpan(dot + 1).ContainsAnyExcept(LowerHexDigits))
        {
            return (at, cursor[(dot + 1)..]);
        }

        throw new ArgumentException($"'{cursor}' is not a cursor of the access audit log: pass the 'next' value of a previous page.", nameof(cursor));
    }

    /// <summary>Cuts first, then replaces NUL and unpaired surrogates (a cut can split a pair), so any text can be stored.</summary>
    private static string? Cut(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Length > AccessAuditLimits.MaxTextLength)
        {
            text = text[..AccessAuditLimits.MaxTextLength];
        }

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
}

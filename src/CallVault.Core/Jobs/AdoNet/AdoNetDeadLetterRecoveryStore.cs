using System.Data.Common;
using System.Globalization;
using CallVault.Recovery;
using static CallVault.Jobs.AdoNet.ChunkRows;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The dead-letter recovery role in SQL (tables <c>dead_letter_lease</c>, <c>dead_letter_blobs</c> and
/// <c>dead_letter_chunks</c>). The same SQL runs on SQLite and PostgreSQL.
/// </summary>
/// <param name="database">The database and its dialect.</param>
public sealed class AdoNetDeadLetterRecoveryStore(RelationalDatabase database) : IDeadLetterRecoveryStore
{
    /// <summary>The one lease row's name: there is one dead-letter poller per database.</summary>
    private const string LeaseName = "dead-letter-recovery";

    /// <summary>Names per <c>IN</c> list, well under every backend's parameter limit.</summary>
    private const int NamesPerQuery = 200;

    /// <inheritdoc />
    public async Task<bool> TryAcquireLeaseAsync(string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);

        // One statement decides: a row nobody holds is inserted, a row held by this owner or expired is taken, a row
        // another owner holds is left alone (0 rows). Two instances racing for a free row serialise on its key.
        // The times are each instance's own clock, so instances whose clocks disagree by more than a lease could both
        // hold it for a while. That costs work, not data: the intake, chunk marks and done marks are idempotent (a blob
        // read twice enqueues nothing twice and is marked done once per ETag), so the lease only saves duplicate reads.
        var changed = await database.WriteAsync(
            session =>
            {
                var now = database.Now();
                return session.ExecuteAsync(
                    """
                    INSERT INTO dead_letter_lease (name, owner, expires_at) VALUES (@name, @owner, @expires)
                    ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                    WHERE dead_letter_lease.owner = excluded.owner OR dead_letter_lease.expires_at <= @now;
                    """,
                    cancellationToken,
                    ("@name", LeaseName), ("@owner", owner), ("@expires", now + (long)duration.TotalMilliseconds), ("@now", now));
            },
            cancellationToken).ConfigureAwait(false);
        return changed == 1;
    }

    /// <inheritdoc />
    public Task ReleaseLeaseAsync(string owner, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return database.WriteAsync(
            session => session.ExecuteAsync(
                "DELETE FROM dead_letter_lease WHERE name = @name AND owner = @owner;",
                cancellationToken,
                ("@name", LeaseName), ("@owner", owner)),
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlySet<string>> FindDoneAsync(IReadOnlyList<DeadLetterBlobRef> blobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var page in blobs.Chunk(NamesPerQuery))
        {
            var parameters = page.Select((b, i) => ($"@n{i}", (object?)b.Name)).ToArray();
            var recorded = await database.ReadAsync(
                session => session.QueryAsync(
                    $"SELECT blob_name, etag FROM dead_letter_blobs WHERE blob_name IN ({string.Join(", ", parameters.Select(p => p.Item1))});",
                    reader => (Name: reader.GetString(0), ETag: reader.GetString(1)),
                    cancellationToken,
                    parameters),
                cancellationToken).ConfigureAwait(false);
            var etags = recorded.ToDictionary(r => r.Name, r => r.ETag, StringComparer.Ordinal);
            foreach (var blob in page)
            {
                if (etags.TryGetValue(blob.Name, out var etag) && etag == blob.ETag)
                {
                    done.Add(blob.Name);
                }
            }
        }

        return done;
    }

    /// <inheritdoc />
    public async Task<DeadLetterMarkResult> MarkChunksAsync(IReadOnlyList<DeadLetterChunkMark> chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        if (chunks.Count == 0)
        {
            return new DeadLetterMarkResult([]);
        }

        // In document order, so that two instances marking the same chunks wait for each other instead of deadlocking.
        var ordered = chunks.GroupBy(c => c.DocumentId, StringComparer.Ordinal).Select(g => g.First()).OrderBy(c => c.DocumentId, StringComparer.Ordinal).ToList();
        return await database.WriteAsync(
            async session =>
            {
                var now = database.Now();
                var marked = new List<DeadLetterChunkMark>();
                foreach (var chunk in ordered)
                {
                    var inserted = await session.ExecuteAsync(
                        """
                        INSERT INTO dead_letter_chunks (document_id, outcome, recording_key, recording_id, call_id, event_id, chunk_index, event_time, acs_expires_at, blob_name, recorded_at)
                        SELECT @doc, @outcome, @key, @rid, @cid, @event, @index, @eventTime, @expires, @blob, @now
                        WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = @doc)
                        ON CONFLICT (document_id) DO NOTHING;
                        """,
                        cancellationToken,
                        ("@doc", chunk.DocumentId), ("@outcome", chunk.Outcome.ToString()), ("@key", chunk.RecordingKey), ("@rid", chunk.RecordingId),
                        ("@cid", chunk.CallId), ("@event", chunk.EventId), ("@index", chunk.ChunkIndex), ("@eventTime", Millis(chunk.EventTime)),
                        ("@expires", Millis(chunk.AcsExpiresAt)), ("@blob", chunk.BlobName), ("@now", now)).ConfigureAwait(false);
                    if (inserted == 1)
                    {
                        marked.Add(chunk with { RecordedAt = DateTimeOffset.FromUnixTimeMilliseconds(now) });
                    }
                }

                return new DeadLetterMarkResult(marked);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task MarkBlobDoneAsync(DeadLetterBlobProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentException.ThrowIfNullOrEmpty(progress.Name, nameof(progress));
        return database.WriteAsync(
            session => session.ExecuteAsync(
                """
                INSERT INTO dead_letter_blobs (blob_name, etag, done_at, events_recovered, events_skipped, events_lost, events_rejected, new_chunks, rejected_reason)
                VALUES (@name, @etag, @now, @recovered, @skipped, @lost, @rejected, @new, @reason)
                ON CONFLICT (blob_name) DO UPDATE SET
                    etag = excluded.etag, done_at = excluded.done_at, events_recovered = excluded.events_recovered,
                    events_skipped = excluded.events_skipped, events_lost = excluded.events_lost,
                    events_rejected = excluded.events_rejected, new_chunks = excluded.new_chunks, rejected_reason = excluded.rejected_reason;
                """,
                cancellationToken,
                ("@name", progress.Name), ("@etag", progress.ETag), ("@now", database.Now()), ("@recovered", progress.EventsRecovered),
                ("@skipped", progress.EventsSkipped), ("@lost", progress.EventsLost), ("@rejected", progress.EventsRejected),
                ("@new", progress.NewChunks), ("@reason", progress.RejectedReason)),
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetterBlobProgress>> ListBlobsAsync(int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                """
                SELECT blob_name, etag, done_at, events_recovered, events_skipped, events_lost, events_rejected, new_chunks, rejected_reason
                FROM dead_letter_blobs ORDER BY done_at DESC, blob_name LIMIT @take;
                """,
                reader => new DeadLetterBlobProgress
                {
                    Name = reader.GetString(0),
                    ETag = reader.GetString(1),
                    DoneAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                    EventsRecovered = reader.GetInt64(3),
                    EventsSkipped = reader.GetInt64(4),
                    EventsLost = reader.GetInt64(5),
                    EventsRejected = reader.GetInt64(6),
                    NewChunks = reader.GetInt64(7),
                    RejectedReason = NullableString(reader, 8),
                },
                cancellationToken,
                ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetterChunkMark>> ListChunksAsync(DeadLetterChunkOutcome outcome, int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                """
                SELECT document_id, outcome, recording_key, recording_id, call_id, event_id, chunk_index, event_time, acs_expires_at, blob_name, recorded_at
                FROM dead_letter_chunks WHERE outcome = @outcome ORDER BY recorded_at DESC, document_id LIMIT @take;
                """,
                ReadMark,
                cancellationToken,
                ("@outcome", outcome.ToString()), ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<long> CountChunksAsync(DeadLetterChunkOutcome outcome, CancellationToken cancellationToken) => database.ReadAsync(
        async session => Convert.ToInt64(
            await session.ScalarAsync("SELECT COUNT(*) FROM dead_letter_chunks WHERE outcome = @outcome;", cancellationToken, ("@outcome", outcome.ToString())).ConfigureAwait(false),
            CultureInfo.InvariantCulture),
        cancellationToken);

    private static DeadLetterChunkMark ReadMark(DbDataReader reader) => new()
    {
        DocumentId = reader.GetString(0),
        Outcome = Enum.Parse<DeadLetterChunkOutcome>(reader.GetString(1)),
        RecordingKey = reader.GetString(2),
        RecordingId = NullableString(reader, 3),
        CallId = NullableString(reader, 4),
        EventId = reader.GetString(5),
        ChunkIndex = reader.GetInt64(6),
        EventTime = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
        AcsExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
        BlobName = reader.GetString(9),
        RecordedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
    };
}

using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using CallVault.Retention;
using CallVault.Storage;
using static CallVault.Jobs.AdoNet.ChunkRows;

namespace CallVault.Jobs.AdoNet;

/// <summary>
/// The retention role in SQL (tables <c>legal_holds</c>, <c>retention_deletions</c>, <c>tombstones</c> and
/// <c>retention_lease</c>). The same SQL runs on SQLite and PostgreSQL. Setting a hold and beginning a deletion both
/// lock the recording's row first, so on PostgreSQL they wait for each other instead of both succeeding; SQLite has one
/// writer at a time anyway.
/// </summary>
/// <param name="database">The database and its dialect.</param>
public sealed class AdoNetRetentionStore(RelationalDatabase database) : IRetentionStore
{
    /// <summary>The one lease row's name: there is one retention sweeper per database.</summary>
    private const string LeaseName = "retention";

    private const string HoldColumns = "recording_key, reason, set_by, set_at, cleared_by, cleared_at";

    private const string TombstoneColumns = "recording_key, recording_id, call_id, server_call_id, start_time, deleted_at, rule, media_bytes, chunks_json";

    /// <summary>A deleted recording's rows, children first.</summary>
    private static readonly string[] RemoveRecordingRows =
    [
        "DELETE FROM recording_participants WHERE recording_key = @key;",
        "DELETE FROM chunks WHERE recording_key = @key;",
        "DELETE FROM recordings WHERE recording_key = @key;",
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A chunk that is stored and verified: its media and metadata each recorded with a SHA-256.</summary>
    private static readonly string UnverifiedChunk =
        $"(c.state <> '{ChunkStates.Stored}' OR c.media_sha256 IS NULL OR c.metadata_sha256 IS NULL OR c.stored_at IS NULL)";

    /// <inheritdoc />
    public Task<HoldChange> SetHoldAsync(string recordingKey, string reason, string who, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(recordingKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentException.ThrowIfNullOrEmpty(who);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(reason.Length, LegalHold.MaxReasonLength, nameof(reason));
        return database.WriteAsync(
            async session =>
            {
                var exists = await LockRecordingAsync(session, recordingKey, cancellationToken).ConfigureAwait(false);
                if (await FindDeletionAsync(session, recordingKey, cancellationToken).ConfigureAwait(false) is not null
                    || (!exists && await TombstoneExistsAsync(session, recordingKey, cancellationToken).ConfigureAwait(false)))
                {
                    return new HoldChange(HoldOutcome.Deleting, null);
                }

                if (!exists)
                {
                    return new HoldChange(HoldOutcome.NotFound, null);
                }

                if (await ActiveHoldAsync(session, recordingKey, cancellationToken).ConfigureAwait(false) is { } held)
                {
                    return new HoldChange(HoldOutcome.AlreadyHeld, held);
                }

                var hold = new LegalHold { RecordingKey = recordingKey, Reason = reason, SetBy = who, SetAt = DateTimeOffset.FromUnixTimeMilliseconds(database.Now()) };
                await session.ExecuteAsync(
                    "INSERT INTO legal_holds (id, recording_key, reason, set_by, set_at) VALUES (@id, @key, @reason, @who, @at);",
                    cancellationToken,
                    ("@id", Guid.NewGuid().ToString("N")), ("@key", recordingKey), ("@reason", reason), ("@who", who), ("@at", Millis(hold.SetAt))).ConfigureAwait(false);
                return new HoldChange(HoldOutcome.Set, hold);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<LegalHold?> ClearHoldAsync(string recordingKey, string who, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(recordingKey);
        ArgumentException.ThrowIfNullOrEmpty(who);
        return database.WriteAsync(
            async session =>
            {
                await LockRecordingAsync(session, recordingKey, cancellationToken).ConfigureAwait(false);
                if (await ActiveHoldAsync(session, recordingKey, cancellationToken).ConfigureAwait(false) is not { } held)
                {
                    return null;
                }

                var now = database.Now();
                await session.ExecuteAsync(
                    "UPDATE legal_holds SET cleared_by = @who, cleared_at = @now WHERE recording_key = @key AND cleared_at IS NULL;",
                    cancellationToken,
                    ("@who", who), ("@now", now), ("@key", recordingKey)).ConfigureAwait(false);
                return held with { ClearedBy = who, ClearedAt = DateTimeOffset.FromUnixTimeMilliseconds(now) };
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<LegalHold?> GetHoldAsync(string recordingKey, CancellationToken cancellationToken) =>
        database.ReadAsync(session => ActiveHoldAsync(session, recordingKey, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<LegalHold>> ListHoldsAsync(bool includeCleared, int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                $"SELECT {HoldColumns} FROM legal_holds {(includeCleared ? string.Empty : "WHERE cleared_at IS NULL")} ORDER BY set_at DESC, id LIMIT @take;",
                ReadHold,
                cancellationToken,
                ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<long> CountActiveHoldsAsync(CancellationToken cancellationToken) => database.ReadAsync(
        async session => Convert.ToInt64(
            await session.ScalarAsync("SELECT COUNT(*) FROM legal_holds WHERE cleared_at IS NULL;", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture),
        cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListDueAsync(DateTimeOffset storedBefore, int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                $"""
                SELECT r.recording_key FROM recordings r
                WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.recording_key = r.recording_key)
                  AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.recording_key = r.recording_key AND ({UnverifiedChunk} OR c.stored_at >= @before))
                  AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.recording_key = r.recording_key AND h.cleared_at IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM retention_deletions d WHERE d.recording_key = r.recording_key)
                  AND NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.recording_key = r.recording_key)
                ORDER BY r.first_seen_at, r.recording_key LIMIT @take;
                """,
                reader => reader.GetString(0),
                cancellationToken,
                ("@before", storedBefore.ToUnixTimeMilliseconds()), ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<DateTimeOffset?> GetNewestActivityAsync(CancellationToken cancellationToken) => database.ReadAsync(
        async session =>
        {
            var newest = await session.ScalarAsync(
                """
                SELECT MAX(t) FROM (
                    SELECT MAX(stored_at) AS t FROM chunks
                    UNION ALL SELECT MAX(received_at) FROM chunks
                    UNION ALL SELECT MAX(received_at) FROM events) activity;
                """,
                cancellationToken).ConfigureAwait(false);
            return newest is null or DBNull ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(newest, CultureInfo.InvariantCulture));
        },
        cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<RetentionDeletion>> ListUnfinishedDeletionsAsync(int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                "SELECT recording_key, rule, folder, started_at FROM retention_deletions ORDER BY started_at, recording_key LIMIT @take;",
                ReadDeletion,
                cancellationToken,
                ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<DeletionStart> BeginDeletionAsync(string recordingKey, string rule, DateTimeOffset? storedBefore, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(recordingKey);
        ArgumentException.ThrowIfNullOrEmpty(rule);
        return database.WriteAsync(
            async session =>
            {
                // The row lock first: a hold being set, or another instance beginning this deletion, waits for this unit.
                var exists = await LockRecordingAsync(session, recordingKey, cancellationToken).ConfigureAwait(false);
                if (await FindDeletionAsync(session, recordingKey, cancellationToken).ConfigureAwait(false) is { } earlier)
                {
                    return new DeletionStart(DeletionOutcome.Resumed, earlier);
                }

                // Rows beside a tombstone (chunks refused after the deletion) are not a recording to delete again.
                if (await TombstoneExistsAsync(session, recordingKey, cancellationToken).ConfigureAwait(false))
                {
                    return new DeletionStart(DeletionOutcome.AlreadyDeleted);
                }

                if (!exists)
                {
                    return new DeletionStart(DeletionOutcome.NotFound);
                }

                if (await ActiveHoldAsync(session, recordingKey, cancellationToken).ConfigureAwait(false) is { } hold)
                {
                    return new DeletionStart(DeletionOutcome.Held, Hold: hold);
                }

                var chunks = await QueryAsync(session, "c.recording_key = @key ORDER BY c.chunk_index, c.document_id", cancellationToken, ("@key", recordingKey)).ConfigureAwait(false);
                if (chunks.Count == 0 || chunks.Any(c => c.State != ChunkState.Stored || c.Media is null || c.Metadata is null || c.StoredAt is null))
                {
                    return new DeletionStart(DeletionOutcome.NotVerified);
                }

                if (storedBefore is { } before && chunks.Any(c => c.StoredAt >= before))
                {
                    return new DeletionStart(DeletionOutcome.NotDue);
                }

                var first = chunks[0].Request;
                var deletion = new RetentionDeletion(recordingKey, rule, RecordingLayout.FolderOf(first.Recording, first.EventTime), DateTimeOffset.FromUnixTimeMilliseconds(database.Now()));
                await session.ExecuteAsync(
                    "INSERT INTO retention_deletions (recording_key, rule, folder, started_at) VALUES (@key, @rule, @folder, @at) ON CONFLICT (recording_key) DO NOTHING;",
                    cancellationToken,
                    ("@key", recordingKey), ("@rule", rule), ("@folder", deletion.Folder), ("@at", Millis(deletion.StartedAt))).ConfigureAwait(false);
                return new DeletionStart(DeletionOutcome.Started, deletion);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<(Tombstone Tombstone, bool Written)> CompleteDeletionAsync(string recordingKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(recordingKey);
        return database.WriteAsync(
            async session =>
            {
                await LockRecordingAsync(session, recordingKey, cancellationToken).ConfigureAwait(false);
                if (await ReadTombstoneAsync(session, recordingKey, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    return (existing, false);
                }

                var deletion = await FindDeletionAsync(session, recordingKey, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"Recording '{recordingKey}' is not marked for deletion.");
                // The deletion began with every chunk stored and verified, and intake refuses chunks of a recording being
                // deleted; so a chunk not stored now arrived since (refused). It stays, with the recording's row, as the
                // visible record of that delivery; only the stored chunks go and are listed in the tombstone.
                var all = await QueryAsync(session, "c.recording_key = @key ORDER BY c.chunk_index, c.document_id", cancellationToken, ("@key", recordingKey)).ConfigureAwait(false);
                var chunks = all.Where(c => c.State == ChunkState.Stored && c.Request.RejectedReason is null).ToList();
                var arrivedSince = all.Count - chunks.Count;
                var info = (chunks.FirstOrDefault() ?? all.FirstOrDefault())?.Request.Recording;
                var tombstone = new Tombstone
                {
                    RecordingKey = recordingKey,
                    RecordingId = info?.RecordingId,
                    CallId = info?.CallId,
                    ServerCallId = info?.ServerCallId,
                    StartTime = info?.StartTime,
                    DeletedAt = DateTimeOffset.FromUnixTimeMilliseconds(database.Now()),
                    Rule = deletion.Rule,
                    MediaBytes = chunks.Sum(c => c.Media?.Length ?? 0),
                    Chunks = [.. chunks.Select(c => new TombstoneChunk
                    {
                        DocumentId = c.Request.DocumentId,
                        Index = c.Request.Index,
                        MediaPath = c.Media?.Path,
                        MediaLength = c.Media?.Length,
                        MediaSha256 = c.Media?.Sha256,
                        MetadataLength = c.Metadata?.Length,
                        MetadataSha256 = c.Metadata?.Sha256,
                        MediaKeptInCustomerStorage = c.Media is { } media && media.Path.StartsWith(Byos.ExportedBlob.StorePathPrefix, StringComparison.Ordinal),
                    })],
                };
                await session.ExecuteAsync(
                    $"INSERT INTO tombstones ({TombstoneColumns}) VALUES (@key, @rid, @cid, @scid, @start, @at, @rule, @bytes, @chunks);",
                    cancellationToken,
                    ("@key", recordingKey), ("@rid", tombstone.RecordingId), ("@cid", tombstone.CallId), ("@scid", tombstone.ServerCallId),
                    ("@start", Millis(tombstone.StartTime)), ("@at", Millis(tombstone.DeletedAt)), ("@rule", tombstone.Rule),
                    ("@bytes", tombstone.MediaBytes), ("@chunks", JsonSerializer.Serialize(tombstone.Chunks, Json))).ConfigureAwait(false);
                if (arrivedSince == 0)
                {
                    foreach (var sql in RemoveRecordingRows)
                    {
                        await session.ExecuteAsync(sql, cancellationToken, ("@key", recordingKey)).ConfigureAwait(false);
                    }
                }
                else
                {
                    foreach (var chunk in chunks)
                    {
                        await session.ExecuteAsync("DELETE FROM chunks WHERE document_id = @doc;", cancellationToken, ("@doc", chunk.Request.DocumentId)).ConfigureAwait(false);
                    }
                }

                return (tombstone, true);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task FinishDeletionAsync(string recordingKey, CancellationToken cancellationToken) => database.WriteAsync(
        session => session.ExecuteAsync("DELETE FROM retention_deletions WHERE recording_key = @key;", cancellationToken, ("@key", recordingKey)),
        cancellationToken);

    /// <inheritdoc />
    public Task<Tombstone?> GetTombstoneAsync(string recordingKey, CancellationToken cancellationToken) =>
        database.ReadAsync(session => ReadTombstoneAsync(session, recordingKey, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<Tombstone>> ListTombstonesAsync(int take, CancellationToken cancellationToken) =>
        await database.ReadAsync(
            session => session.QueryAsync(
                $"SELECT {TombstoneColumns} FROM tombstones ORDER BY deleted_at DESC, recording_key LIMIT @take;",
                ReadTombstone,
                cancellationToken,
                ("@take", Math.Clamp(take, 1, 1000))),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<bool> TryAcquireLeaseAsync(string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);

        // One statement decides, as for dead-letter recovery's lease. Clocks that disagree by more than a lease could let
        // two instances sweep for a while; that costs work, not data, since each recording's deletion is marked under its
        // row lock and its tombstone is written once.
        var changed = await database.WriteAsync(
            session =>
            {
                var now = database.Now();
                return session.ExecuteAsync(
                    """
                    INSERT INTO retention_lease (name, owner, expires_at) VALUES (@name, @owner, @expires)
                    ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                    WHERE retention_lease.owner = excluded.owner OR retention_lease.expires_at <= @now;
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
            session => session.ExecuteAsync("DELETE FROM retention_lease WHERE name = @name AND owner = @owner;", cancellationToken, ("@name", LeaseName), ("@owner", owner)),
            cancellationToken);
    }

    /// <summary>Locks the recording's row until the write unit ends (PostgreSQL); whether there is one.</summary>
    private async Task<bool> LockRecordingAsync(SqlSession session, string recordingKey, CancellationToken cancellationToken) =>
        await session.ScalarAsync(
            $"SELECT recording_key FROM recordings WHERE recording_key = @key {database.LockRowsClause};",
            cancellationToken,
            ("@key", recordingKey)).ConfigureAwait(false) is not null;

    private static async Task<RetentionDeletion?> FindDeletionAsync(SqlSession session, string recordingKey, CancellationToken cancellationToken) =>
        (await session.QueryAsync(
            "SELECT recording_key, rule, folder, started_at FROM retention_deletions WHERE recording_key = @key;",
            ReadDeletion,
            cancellationToken,
            ("@key", recordingKey)).ConfigureAwait(false)).SingleOrDefault();

    private static async Task<LegalHold?> ActiveHoldAsync(SqlSession session, string recordingKey, CancellationToken cancellationToken) =>
        (await session.QueryAsync(
            $"SELECT {HoldColumns} FROM legal_holds WHERE recording_key = @key AND cleared_at IS NULL;",
            ReadHold,
            cancellationToken,
            ("@key", recordingKey)).ConfigureAwait(false)).SingleOrDefault();

    private static async Task<bool> TombstoneExistsAsync(SqlSession session, string recordingKey, CancellationToken cancellationToken) =>
        await session.ScalarAsync("SELECT recording_key FROM tombstones WHERE recording_key = @key;", cancellationToken, ("@key", recordingKey)).ConfigureAwait(false) is not null;

    private static async Task<Tombstone?> ReadTombstoneAsync(SqlSession session, string recordingKey, CancellationToken cancellationToken) =>
        (await session.QueryAsync(
            $"SELECT {TombstoneColumns} FROM tombstones WHERE recording_key = @key;",
            ReadTombstone,
            cancellationToken,
            ("@key", recordingKey)).ConfigureAwait(false)).SingleOrDefault();

    private static LegalHold ReadHold(DbDataReader reader) => new()
    {
        RecordingKey = reader.GetString(0),
        Reason = reader.GetString(1),
        SetBy = reader.GetString(2),
        SetAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
        ClearedBy = NullableString(reader, 4),
        ClearedAt = NullableTime(reader, 5),
    };

    private static RetentionDeletion ReadDeletion(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));

    private static Tombstone ReadTombstone(DbDataReader reader) => new()
    {
        RecordingKey = reader.GetString(0),
        RecordingId = NullableString(reader, 1),
        CallId = NullableString(reader, 2),
        ServerCallId = NullableString(reader, 3),
        StartTime = NullableTime(reader, 4),
        DeletedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
        Rule = reader.GetString(6),
        MediaBytes = reader.GetInt64(7),
        Chunks = JsonSerializer.Deserialize<List<TombstoneChunk>>(reader.GetString(8), Json) ?? [],
    };
}

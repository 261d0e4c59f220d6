using CallVault.Jobs;
using CallVault.Recovery;
using CallVault.Jobs.AdoNet;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IRecordingReadModel"/> must do.</summary>
public abstract class RecordingReadModelContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    [Fact]
    public async Task ListRecordings_StatusFilter_FindsExactlyTheRecordingsInThatStatus()
    {
        var now = Clock.GetUtcNow();
        await Store.Queue.EnqueueAsync("e1", [Chunk("s0", "stored", eventTime: now.AddMinutes(-50))], default);
        await Store.Queue.EnqueueAsync("e2", [Chunk("p0", "partial", eventTime: now.AddMinutes(-40)), Chunk("p1", "partial", 1, now.AddMinutes(-5))], default);
        await Store.Queue.EnqueueAsync("e3", [Chunk("f0", "failed", eventTime: now.AddMinutes(-30))], default);
        await Store.Queue.EnqueueAsync("e4", [Chunk("d0", "downloading", eventTime: now.AddMinutes(-20))], default);
        await Store.Queue.EnqueueAsync("e5", [Chunk("q0", "pending", eventTime: now.AddMinutes(-1))], default);
        await Store.Transitions.CompleteAsync((await Store.Queue.TryLeaseAsync("w", Lease, default))!, default);
        await Store.Transitions.CompleteAsync((await Store.Queue.TryLeaseAsync("w", Lease, default))!, default);
        await Store.Transitions.FailAsync((await Store.Queue.TryLeaseAsync("w", Lease, default))!, "gone", retryAt: null, default);
        Assert.Equal("d0", (await Store.Queue.TryLeaseAsync("w", Lease, default))!.DocumentId);

        foreach (var status in new[] { "stored", "partial", "failed", "downloading", "pending" })
        {
            var found = Assert.Single(await Store.Recordings.ListRecordingsAsync(new RecordingQuery { Status = status, Sort = RecordingSort.Largest }, default));
            Assert.Equal((status, status), (found.Key, found.Status));
        }
    }

    /// <summary>The report classifies each case: stored, pending with time left, recovered, lost (both ways), exported, failed, and a session without files.</summary>
    [Fact]
    public async Task GetReconciliation_ClassifiesEachChunkAndListsLostFirst()
    {
        var now = Clock.GetUtcNow();
        var retention = TimeSpan.FromHours(24);
        async Task StoreNextAsync() => await Store.Transitions.CompleteAsync((await Store.Queue.TryLeaseAsync("w", Lease, default))!, default);
        DeadLetterChunkMark Mark(string documentId, string recording, DeadLetterChunkOutcome outcome, DateTimeOffset eventTime) => new()
        {
            DocumentId = documentId, Outcome = outcome, RecordingKey = recording, RecordingId = recording, CallId = "call-" + recording,
            EventId = "ev-" + documentId, EventTime = eventTime, AcsExpiresAt = eventTime + retention, BlobName = "SUB/blob.json",
        };

        await Store.Queue.EnqueueAsync("e1", [Chunk("s0", "stored", eventTime: now.AddHours(-2))], default);
        await StoreNextAsync();
        await Store.DeadLetterRecovery.MarkChunksAsync([Mark("r0", "recovered", DeadLetterChunkOutcome.Recovered, now.AddHours(-20))], default);
        await Store.Queue.EnqueueAsync("e2", [Chunk("r0", "recovered", eventTime: now.AddHours(-20))], default);
        await StoreNextAsync();
        await Store.DeadLetterRecovery.MarkChunksAsync([Mark("l0", "lost", DeadLetterChunkOutcome.Lost, now.AddHours(-25))], default);
        await Store.Queue.EnqueueAsync("e3", [Chunk("l0", "lost", eventTime: now.AddHours(-25)) with { RejectedReason = "Lost: too late." }], default);
        await Store.Queue.EnqueueAsync("e4", [Chunk("p0", "pending", eventTime: now.AddHours(-3)), Chunk("x0", "expired", eventTime: now.AddHours(-24.5))], default);
        await Store.Queue.EnqueueAsync("e5", [Chunk("b0", "byos", eventTime: now.AddHours(-1))], default);
        await Store.Queue.EnqueueAsync("e6", [Chunk("old", "outside", eventTime: now.AddHours(-30))], default);
        await Store.Sessions.RecordStartAsync(new Sessions.SessionStart { RecordingId = "byos", AcsState = "active", StartedAt = now, ExternalStorageContainerUrl = "https://acct.blob.core.windows.net/byos" }, default);
        await Store.Sessions.RecordStartAsync(new Sessions.SessionStart { RecordingId = "waiting", ServerCallId = "server-9", AcsState = "active", StartedAt = now }, default);

        var report = await Store.Recordings.GetReconciliationAsync(
            new ReconciliationQuery { Since = now.AddHours(-26), Until = now.AddMinutes(1), Now = now, AcsRetention = retention, FilesMissingAfter = TimeSpan.FromMinutes(30) }, default);

        var states = report.Recordings.ToDictionary(r => r.Key, r => Assert.Single(r.Chunks));
        Assert.Equal(
            [("lost", ReconciliationState.Lost), ("expired", ReconciliationState.Lost), ("pending", ReconciliationState.Pending), ("byos", ReconciliationState.Exported), ("recovered", ReconciliationState.Recovered), ("stored", ReconciliationState.Stored)],
            report.Recordings.Select(r => (r.Key, r.State)));
        Assert.Equal(TimeSpan.FromHours(21), states["pending"].TimeLeft);
        Assert.True(states["recovered"].ViaDeadLetter);
        Assert.Equal(("Lost: too late.", true), (states["lost"].Reason, states["lost"].ViaDeadLetter));
        Assert.Null(states["stored"].TimeLeft);
        Assert.Equal("https://acct.blob.core.windows.net/byos", report.Recordings.Single(r => r.Key == "byos").ExportedTo);
        Assert.Equal(ReconciliationState.Lost, report.Totals[0].Key);
        Assert.Equal(
            [(ReconciliationState.Lost, 2), (ReconciliationState.Failed, 0), (ReconciliationState.Pending, 1), (ReconciliationState.Exported, 1), (ReconciliationState.Recovered, 1), (ReconciliationState.Stored, 1)],
            report.Totals.Select(t => (t.Key, t.Value)));
        var session = Assert.Single(report.SessionsWithoutRecording);
        Assert.Equal(("waiting", "server-9", ReconciliationSessionState.FilesExpected), (session.RecordingId, session.ServerCallId, session.State));
    }

    [Fact]
    public async Task ListAndStatistics_DescribeTheQueue()
    {
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1", "rec-1", eventTime: Clock.GetUtcNow().AddHours(-3))], default);
        Clock.Advance(TimeSpan.FromSeconds(1));
        await Store.Queue.EnqueueAsync("e2", [Chunk("d2", "rec-2")], default);

        var recordings = await Store.Recordings.ListRecordingsAsync(new RecordingQuery(), default);
        var byCall = await Store.Recordings.ListRecordingsAsync(new RecordingQuery { CallId = "call-rec-1" }, default);
        var statistics = await Store.Recordings.GetStatisticsAsync(default);

        Assert.Equal(["rec-2", "rec-1"], recordings.Select(r => r.Key));
        Assert.Equal("rec-1", Assert.Single(byCall).Key);
        Assert.Equal(2, statistics.ByState[ChunkState.Pending]);
        Assert.Equal(Clock.GetUtcNow().AddSeconds(-1).AddHours(-3), statistics.OldestPendingEventTime);
        Assert.Equal(Clock.GetUtcNow(), statistics.LastEventReceivedAt);
        Assert.Null(await Store.Recordings.GetRecordingAsync("nope", default));
    }

    [Fact]
    public async Task ListRecordings_FiltersByStartParticipantAndStatusAndSorts()
    {
        var early = new RecordingInfo { Key = "early", CallId = "c1", StartTime = Clock.GetUtcNow().AddHours(-10), DurationMs = 1000 };
        var late = new RecordingInfo { Key = "late", CallId = "c2", StartTime = Clock.GetUtcNow().AddHours(-1), DurationMs = 9000 };
        await Store.Queue.EnqueueAsync("e1", [Chunk("d1") with { Recording = early }], default);
        await Store.Queue.EnqueueAsync("e2", [Chunk("d2") with { Recording = late }], default);
        var lease = await Store.Queue.TryLeaseAsync("w", Lease, default);
        await Store.Transitions.RecordProgressAsync(lease!, new ChunkProgress
        {
            Media = new StoredObjectInfo("x.wav", 500, "ab", "audio/wav"),
            MetadataJson = """{"participants":[{"participantId":"4:+14255550123","channel":0},{"participantId":"8:acs:agent","channel":1}]}""",
            Participants = ["4:+14255550123", "8:acs:agent"],
        }, default);
        await Store.Transitions.CompleteAsync(lease!, default);

        async Task<string[]> KeysAsync(RecordingQuery query) => [.. (await Store.Recordings.ListRecordingsAsync(query, default)).Select(r => r.Key)];

        Assert.Equal(["late"], await KeysAsync(new RecordingQuery { From = Clock.GetUtcNow().AddHours(-2) }));
        Assert.Equal(["early"], await KeysAsync(new RecordingQuery { To = Clock.GetUtcNow().AddHours(-2) }));
        foreach (var term in new[] { "4:+14255550123", "+14255550123", "14255550123", " 8:acs:agent ", "acs:agent" })
        {
            Assert.Equal([lease!.Job.Request.Recording.Key], await KeysAsync(new RecordingQuery { Participant = term }));
        }

        Assert.Empty(await KeysAsync(new RecordingQuery { Participant = "+1425555" }));
        Assert.Equal(["late"], await KeysAsync(new RecordingQuery { Skip = 1, Take = 1, Sort = RecordingSort.Oldest }));
        Assert.Equal([lease!.Job.Request.Recording.Key], await KeysAsync(new RecordingQuery { Status = "stored" }));
        Assert.Single(await KeysAsync(new RecordingQuery { Status = "pending" }));
        Assert.Empty(await KeysAsync(new RecordingQuery { Status = "failed" }));
        Assert.Empty(await KeysAsync(new RecordingQuery { Status = "no-such-status" }));
        Assert.Equal(["late", "early"], await KeysAsync(new RecordingQuery { Sort = RecordingSort.Longest }));
        Assert.Equal(lease!.Job.Request.Recording.Key, (await KeysAsync(new RecordingQuery { Sort = RecordingSort.Largest }))[0]);
        Assert.Equal(500, (await Store.Recordings.ListRecordingsAsync(new RecordingQuery { Sort = RecordingSort.Largest }, default))[0].StoredBytes);
        var stored = (await Store.Recordings.ListRecordingsAsync(new RecordingQuery { Status = "stored" }, default)).Single();
        Assert.Equal(["4:+14255550123", "8:acs:agent"], stored.Participants);
    }

    /// <summary>
    /// Hourly buckets from 10:00 to 14:00, asked at 13:30: chunks, recordings and bytes stored and failures land in the
    /// bucket they happened in; the backlog and its oldest chunk's age are those at each bucket's end (now for the last).
    /// </summary>
    [Fact]
    public async Task GetTimeline_CountsWhatWasStoredAndFailedAndWhatWasOwedAtEachBucketEnd()
    {
        var start = Clock.GetUtcNow();
        async Task CompleteNextAsync(string expected, long bytes)
        {
            var lease = (await Store.Queue.TryLeaseAsync("w", Lease, default))!;
            Assert.Equal(expected, lease.DocumentId);
            await Store.Transitions.RecordProgressAsync(lease, new ChunkProgress { Media = new StoredObjectInfo(expected + ".wav", bytes, "ab", "audio/wav") }, default);
            await Store.Transitions.CompleteAsync(lease, default);
        }

        await Store.Queue.EnqueueAsync("e1", [Chunk("a", "rec-a", eventTime: start.AddMinutes(-30))], default);
        await Store.Queue.EnqueueAsync("e2", [Chunk("b0", "rec-b", 0, start.AddMinutes(10)), Chunk("b1", "rec-b", 1, start.AddMinutes(10))], default);
        await Store.Queue.EnqueueAsync("e3", [Chunk("d", "rec-d", eventTime: start.AddMinutes(20))], default);
        Clock.Advance(TimeSpan.FromMinutes(70));
        await CompleteNextAsync("a", 1000);
        Clock.Advance(TimeSpan.FromMinutes(10));
        await CompleteNextAsync("b0", 2000);
        Clock.Advance(TimeSpan.FromMinutes(45));
        await CompleteNextAsync("b1", 3000);
        Clock.Advance(TimeSpan.FromMinutes(10));
        var failing = (await Store.Queue.TryLeaseAsync("w", Lease, default))!;
        Assert.Equal("d", failing.DocumentId);
        await Store.Transitions.FailAsync(failing, "gone", retryAt: null, default);
        Clock.Advance(TimeSpan.FromMinutes(15));
        await Store.Queue.EnqueueAsync("e4", [Chunk("e", "rec-e", eventTime: start.AddMinutes(145))], default);
        Clock.Advance(TimeSpan.FromMinutes(60));

        var points = await Store.Recordings.GetTimelineAsync(
            new TimelineQuery { From = start, Until = start.AddHours(4), BucketWidth = TimeSpan.FromHours(1), Now = Clock.GetUtcNow() }, default);

        Assert.Equal([start, start.AddHours(1), start.AddHours(2), start.AddHours(3)], points.Select(p => p.Start));
        Assert.Equal([0L, 2, 1, 0], points.Select(p => p.ChunksStored));
        Assert.Equal([0L, 2, 1, 0], points.Select(p => p.RecordingsStored));
        Assert.Equal([0L, 3000, 3000, 0], points.Select(p => p.BytesStored));
        Assert.Equal([0L, 0, 1, 0], points.Select(p => p.ChunksFailed));
        Assert.Equal([4L, 2, 1, 1], points.Select(p => p.Backlog));
        Assert.Equal(
            [TimeSpan.FromMinutes(90), TimeSpan.FromMinutes(110), TimeSpan.FromMinutes(35), TimeSpan.FromMinutes(65)],
            points.Select(p => p.OldestPendingAge));
    }

    [Fact]
    public async Task GetTimeline_BucketsAfterNowHaveNoBacklogAndBadPeriodsAreRefused()
    {
        var now = Clock.GetUtcNow();
        await Store.Queue.EnqueueAsync("e1", [Chunk("a", "rec-a", eventTime: now.AddMinutes(-5))], default);

        var points = await Store.Recordings.GetTimelineAsync(new TimelineQuery { From = now.AddHours(-1), Until = now.AddHours(2), BucketWidth = TimeSpan.FromHours(1), Now = now }, default);

        Assert.Equal([1L, 1, null], points.Select(p => p.Backlog));
        Assert.Equal([TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), null], points.Select(p => p.OldestPendingAge));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.Recordings.GetTimelineAsync(new TimelineQuery { From = now, Until = now, BucketWidth = TimeSpan.FromHours(1), Now = now }, default));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.Recordings.GetTimelineAsync(new TimelineQuery { From = now.AddDays(-365), Until = now, BucketWidth = TimeSpan.FromHours(1), Now = now }, default));
    }

    /// <summary>
    /// With 100,000 chunks over 30 days (stored, some dead-lettered, the newest still owed), the database's own plan for
    /// each timeline statement reads the chunks through index ranges, never a whole table or index. A plan, not a timing:
    /// it holds on any machine.
    /// </summary>
    [Fact]
    public async Task GetTimeline_PlansReadChunksThroughIndexRanges_With100000Chunks()
    {
        const int Chunks = 100_000;
        var origin = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
        const long Spacing = 25_920; // ms: 100,000 chunks over 30 days
        await Backend.ExecuteAsync(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count) "
            + "INSERT INTO recordings (recording_key, first_seen_at) SELECT 'seed-' || i, @origin + i * @spacing FROM n;",
            ("@count", Chunks), ("@origin", origin.ToUnixTimeMilliseconds()), ("@spacing", Spacing));
        await Backend.ExecuteAsync(
            $"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count)
            INSERT INTO chunks (document_id, recording_key, chunk_index, event_time, received_at, state, next_attempt_at, stored_at, media_length)
            SELECT 'doc-' || i, 'seed-' || i, 0, @origin + i * @spacing, @origin + i * @spacing,
                   CASE WHEN i > @count - 100 THEN 'Pending' WHEN i % 50 = 0 THEN 'DeadLettered' ELSE 'Stored' END,
                   @origin + i * @spacing + 60000,
                   CASE WHEN i > @count - 100 OR i % 50 = 0 THEN NULL ELSE @origin + i * @spacing + 60000 END,
                   CASE WHEN i > @count - 100 OR i % 50 = 0 THEN NULL ELSE 480044 END
            FROM n;
            """,
            ("@count", Chunks), ("@origin", origin.ToUnixTimeMilliseconds()), ("@spacing", Spacing));
        await Backend.ExecuteAsync("ANALYZE chunks;");
        await Backend.ExecuteAsync("ANALYZE recordings;");
        var end = origin.AddMilliseconds(Spacing * (Chunks + 1));
        var query = new TimelineQuery { From = end.AddHours(-48), Until = end, BucketWidth = TimeSpan.FromHours(1), Now = end };

        foreach (var statement in new[] { TimelineStatements.Stored, TimelineStatements.Owed })
        {
            var plan = await Backend.ExplainAsync(statement, TimelineStatements.Parameters(query));
            Assert.True(Backend.FullScans(plan, "chunks").Count == 0, $"A timeline statement reads chunks without an index range:{Environment.NewLine}{string.Join(Environment.NewLine, plan)}");
            Assert.Contains(plan, step => step.Contains("chunks_stored", StringComparison.Ordinal));
        }

        var points = await Store.Recordings.GetTimelineAsync(query, default);
        Assert.Equal(48, points.Count);
        Assert.Equal(100, points[^1].Backlog);
        Assert.True(points.Sum(p => p.ChunksStored) > 6000, "the seeded chunks stored in the last 48 hours are counted");
    }
}

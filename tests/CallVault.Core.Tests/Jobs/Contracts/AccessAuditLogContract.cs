using CallVault.Audit;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IAccessAuditLog"/> must do.</summary>
public abstract class AccessAuditLogContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    private static AccessAuditEntry Read(string who = "alice", string recording = "rec-1", long bytes = 1000, string action = AccessAuditActions.MediaRead) => new()
    {
        Who = who,
        Action = action,
        RecordingKey = recording,
        DocumentId = "doc-" + recording,
        ChunkIndex = 2,
        Bytes = bytes,
        RemoteAddress = "203.0.113.9",
        Status = 206,
    };

    /// <summary>Every field comes back as appended, stamped with the store's clock, newest first.</summary>
    [Fact]
    public async Task Append_ThenList_GivesEveryFieldNewestFirst()
    {
        var first = Clock.GetUtcNow();
        await Store.AccessAudit.AppendAsync([Read(bytes: 1)], default);
        Clock.Advance(TimeSpan.FromSeconds(1));
        await Store.AccessAudit.AppendAsync([Read(who: "bob", bytes: 2) with { Aborted = true, Status = 200 }], default);

        var page = await Store.AccessAudit.ListAsync(new AccessAuditQuery(), default);

        Assert.Null(page.Next);
        Assert.Equal([2L, 1L], page.Records.Select(r => r.Entry.Bytes));
        Assert.Equal(Read(who: "bob", bytes: 2) with { Aborted = true, Status = 200 }, page.Records[0].Entry);
        Assert.Equal(Read(bytes: 1), page.Records[1].Entry);
        Assert.Equal(first, page.Records[1].At);
        Assert.Equal(first.AddSeconds(1), page.Records[0].At);
        Assert.NotEqual(page.Records[0].Id, page.Records[1].Id);
    }

    /// <summary>A retry concerns a chunk, not a read: no recording, no index, no bytes.</summary>
    [Fact]
    public async Task Append_ActionWithoutRecording_KeepsTheNulls()
    {
        await Store.AccessAudit.AppendAsync([new AccessAuditEntry { Who = "ops", Action = AccessAuditActions.Retry, DocumentId = "d1", Status = 202 }], default);

        var record = Assert.Single((await Store.AccessAudit.ListAsync(new AccessAuditQuery(), default)).Records);

        Assert.Equal(new AccessAuditEntry { Who = "ops", Action = AccessAuditActions.Retry, DocumentId = "d1", Status = 202 }, record.Entry);
    }

    /// <summary>Pages follow one another without gap or repeat, also among records with the same time, and while new records arrive.</summary>
    [Fact]
    public async Task List_PagesWithTheCursor_SeeEachRecordOnce()
    {
        for (var i = 0; i < 7; i++)
        {
            // Pairs share a millisecond, so the order within one time is exercised too.
            await Store.AccessAudit.AppendAsync([Read(bytes: i)], default);
            if (i % 2 == 1)
            {
                Clock.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        var seen = new List<AccessAuditRecord>();
        string? cursor = null;
        do
        {
            var page = await Store.AccessAudit.ListAsync(new AccessAuditQuery { Take = 3, Before = cursor }, default);
            seen.AddRange(page.Records);
            cursor = page.Next;
            Clock.Advance(TimeSpan.FromSeconds(1));
            await Store.AccessAudit.AppendAsync([Read(bytes: 100)], default);
        }
        while (cursor is not null);

        Assert.Equal(7, seen.Count);
        Assert.Equal(7, seen.Select(r => r.Id).Distinct().Count());
        Assert.DoesNotContain(seen, r => r.Entry.Bytes == 100);
        Assert.Equal(seen.OrderByDescending(r => r.At).Select(r => r.At), seen.Select(r => r.At));
    }

    [Fact]
    public async Task List_Filters_ByTimeCallerAndRecording()
    {
        var start = Clock.GetUtcNow();
        await Store.AccessAudit.AppendAsync([Read(who: "alice", recording: "a", bytes: 1)], default);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Store.AccessAudit.AppendAsync([Read(who: "bob", recording: "a", bytes: 2), Read(who: "alice", recording: "b", bytes: 3)], default);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Store.AccessAudit.AppendAsync([Read(who: "bob", recording: "b", bytes: 4)], default);

        async Task<string> Bytes(AccessAuditQuery query) =>
            string.Join(',', (await Store.AccessAudit.ListAsync(query, default)).Records.Select(r => r.Entry.Bytes).Order());

        Assert.Equal("1,3", await Bytes(new AccessAuditQuery { Who = "alice" }));
        Assert.Equal("1,2", await Bytes(new AccessAuditQuery { RecordingKey = "a" }));
        Assert.Equal("3", await Bytes(new AccessAuditQuery { Who = "alice", RecordingKey = "b" }));
        Assert.Equal("2,3,4", await Bytes(new AccessAuditQuery { Since = start.AddMinutes(1) }));
        Assert.Equal("1,2,3", await Bytes(new AccessAuditQuery { Until = start.AddMinutes(2) }));
        Assert.Equal("2,3", await Bytes(new AccessAuditQuery { Since = start.AddMinutes(1), Until = start.AddMinutes(2) }));
        Assert.Equal(string.Empty, await Bytes(new AccessAuditQuery { Who = "ALICE" }));
        Assert.Equal("4", await Bytes(new AccessAuditQuery { Take = 1 }));
    }

    /// <summary>A filtered page's cursor continues within the filter.</summary>
    [Fact]
    public async Task List_FilteredPages_ContinueWithinTheFilter()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.AccessAudit.AppendAsync([Read(who: "alice", bytes: i), Read(who: "bob", bytes: 10 + i)], default);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        var first = await Store.AccessAudit.ListAsync(new AccessAuditQuery { Who = "bob", Take = 3 }, default);
        var second = await Store.AccessAudit.ListAsync(new AccessAuditQuery { Who = "bob", Take = 3, Before = first.Next }, default);

        Assert.Equal([14L, 13L, 12L], first.Records.Select(r => r.Entry.Bytes));
        Assert.Equal([11L, 10L], second.Records.Select(r => r.Entry.Bytes));
        Assert.Null(second.Next);
    }

    [Theory]
    [InlineData("not-a-cursor")]
    [InlineData("")]
    [InlineData("12.")]
    [InlineData("x.0123456789abcdef0123456789abcdef")]
    public async Task List_ForeignCursor_IsRefused(string cursor) =>
        await Assert.ThrowsAsync<ArgumentException>(() => Store.AccessAudit.ListAsync(new AccessAuditQuery { Before = cursor }, default));

    /// <summary>What a hostile request put in a name or key must not make the audit write fail.</summary>
    [Fact]
    public async Task Append_TextTheDatabaseCannotHold_IsCleanedAndCut()
    {
        await Store.AccessAudit.AppendAsync([Read(who: "nul\0name", recording: new string('k', 5_000) + "\ud800")], default);

        var record = Assert.Single((await Store.AccessAudit.ListAsync(new AccessAuditQuery(), default)).Records);

        Assert.Equal("nul\uFFFDname", record.Entry.Who);
        Assert.Equal(AccessAuditLimits.MaxTextLength, record.Entry.RecordingKey!.Length);
    }

    /// <summary>Many requests finishing at once each get their record.</summary>
    [Fact]
    public async Task Append_Concurrently_KeepsEveryRecord()
    {
        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => Store.AccessAudit.AppendAsync([Read(bytes: i)], default))));

        var page = await Store.AccessAudit.ListAsync(new AccessAuditQuery { Take = 100 }, default);

        Assert.Equal(Enumerable.Range(0, 16).Select(i => (long)i), page.Records.Select(r => r.Entry.Bytes).Order());
    }

    [Fact]
    public async Task Append_Nothing_IsANoOp()
    {
        await Store.AccessAudit.AppendAsync([], default);

        Assert.Empty((await Store.AccessAudit.ListAsync(new AccessAuditQuery(), default)).Records);
    }
}

using CallVault.Jobs;
using CallVault.Sessions;

namespace CallVault.Core.Tests.Jobs;

/// <summary>What every <see cref="IRecordingSessionStore"/> must do.</summary>
public abstract class RecordingSessionStoreContract(JobStoreBackend backend) : JobStoreContract(backend)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(30);

    private IRecordingSessionStore Sessions => Store.Sessions;

    /// <summary>A started recording keeps what was asked, who asked, and a "start" entry in its history.</summary>
    [Fact]
    public async Task RecordStart_ThenGet_KeepsTheRequestWhoAskedAndTheHistory()
    {
        await Sessions.RecordStartAsync(Start("rec-1") with
        {
            Format = "wav",
            Channel = "unmixed",
            ParticipantOrdering = ["8:acs:a", "4:+1555"],
            ChannelAffinity = [new SessionChannelAffinity(1, "4:+1555")],
            ExternalStorageContainerUrl = "https://acct.blob.core.windows.net/byos",
        }, default);

        var session = await Sessions.GetAsync("rec-1", Window, default);

        Assert.NotNull(session);
        Assert.Equal((SessionState.Active, "alice", "server-1", "wav", "unmixed"), (session.State, session.StartedBy, session.ServerCallId, session.Format, session.Channel));
        Assert.Equal(["8:acs:a", "4:+1555"], session.ParticipantOrdering);
        Assert.Equal(new SessionChannelAffinity(1, "4:+1555"), Assert.Single(session.ChannelAffinity));
        Assert.Equal("https://acct.blob.core.windows.net/byos", session.ExternalStorageContainerUrl);
        var entry = Assert.Single(session.History);
        Assert.Equal(("start", SessionChangeSource.Api, "alice", SessionState.Active), (entry.Event, entry.Source, entry.Actor, entry.State));
        Assert.Null(await Sessions.GetAsync("rec-other", Window, default));
    }

    /// <summary>The same start recorded twice (a retried request) is one session with one "start" entry.</summary>
    [Fact]
    public async Task RecordStart_Twice_IsOneSession()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordStartAsync(Start("rec-1"), default);

        Assert.Single(await Sessions.ListAsync(new SessionQuery(), default));
        Assert.Single((await Sessions.GetAsync("rec-1", Window, default))!.History);
    }

    /// <summary>A start with pauseOnStart is paused, and its first "inactive" callback keeps it paused rather than ended.</summary>
    [Fact]
    public async Task PauseOnStart_InactiveCallback_StaysPaused()
    {
        await Sessions.RecordStartAsync(Start("rec-1") with { PauseOnStart = true, AcsState = "inactive" }, default);

        Assert.Equal(SessionChangeOutcome.Applied, await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "inactive", 1), default));

        Assert.Equal(SessionState.Paused, (await Sessions.GetAsync("rec-1", Window, default))!.State);
    }

    /// <summary>Inactive after a pause was asked is a pause; inactive with no pause asked is the end of the call.</summary>
    [Fact]
    public async Task InactiveCallback_IsAPauseOnlyWhenAPauseWasAsked()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordStartAsync(Start("rec-2"), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Pause, 1), default);

        await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "inactive", 2), default);
        await Sessions.RecordChangeAsync(Callback("rec-2", "e2", "inactive", 2), default);

        var paused = (await Sessions.GetAsync("rec-1", Window, default))!;
        var ended = (await Sessions.GetAsync("rec-2", Window, default))!;
        Assert.Equal((SessionState.Paused, null), (paused.State, paused.StoppedAt));
        Assert.Equal((SessionState.Stopped, Clock.GetUtcNow()), (ended.State, ended.StoppedAt));
        Assert.Equal(["start", "pause", "inactive"], paused.History.Select(h => h.Event));
        Assert.Equal("bob", paused.History[1].Actor);
    }

    /// <summary>A pause noted before ACS is asked: its callback, arriving before the request is recorded, is read as a pause; a refused request is put back.</summary>
    [Fact]
    public async Task NoteRequest_BeforeACallbackThatOvertakesTheAnswer_ReadsItAsThePause()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordStartAsync(Start("rec-2"), default);

        var previous = await Sessions.NoteRequestAsync("rec-1", SessionAction.Pause, null, default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "inactive", 2), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Pause, 1), default);
        var refused = await Sessions.NoteRequestAsync("rec-2", SessionAction.Stop, null, default);
        await Sessions.NoteRequestAsync("rec-2", null, refused, default);

        var paused = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.Equal(SessionAction.Start, previous);
        Assert.Equal(SessionState.Paused, paused.State);
        Assert.Equal(SessionState.Paused, Assert.Single(paused.History, h => h.Event == "inactive").State);
        Assert.Equal(SessionAction.Start, (await Sessions.GetAsync("rec-2", Window, default))!.LastRequested);
        Assert.Null(await Sessions.NoteRequestAsync("rec-x", SessionAction.Pause, null, default));
    }

    /// <summary>A late callback (the "inactive" of a pause, after the resume) is kept in the history but does not change the state.</summary>
    [Fact]
    public async Task Callback_OlderThanTheState_IsKeptButChangesNothing()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Pause, 10), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Resume, 20), default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "active-after-resume", "active", 21), default);

        var outcome = await Sessions.RecordChangeAsync(Callback("rec-1", "inactive-of-pause", "inactive", 11), default);

        var session = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.Equal(SessionChangeOutcome.Stale, outcome);
        Assert.Equal(SessionState.Active, session.State);
        var late = Assert.Single(session.History, h => h.Event == "inactive");
        Assert.False(late.Applied);
    }

    /// <summary>
    /// ACS's clock 12 s behind CallVault's: callbacks are ordered among themselves, not against the times of API
    /// requests, so the end of the call still ends the session instead of being taken as stale forever.
    /// </summary>
    [Fact]
    public async Task Callbacks_FromAClockBehindOurs_AreOrderedAmongThemselves_AndTheEndOfTheCallEndsTheSession()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "active-at-start", "active", 50), default);
        await Sessions.NoteRequestAsync("rec-1", SessionAction.Pause, null, default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "inactive-of-pause", "inactive", 88), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Pause, 100), default);
        await Sessions.NoteRequestAsync("rec-1", SessionAction.Resume, SessionAction.Pause, default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "active-of-resume", "active", 98), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Resume, 110), default);

        var outcome = await Sessions.RecordChangeAsync(Callback("rec-1", "inactive-call-ended", "inactive", 105), default);

        var session = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.Equal(SessionChangeOutcome.Applied, outcome);
        Assert.Equal(SessionState.Stopped, session.State);
        Assert.NotNull(session.StoppedAt);
    }

    /// <summary>The same callback delivered twice (two instances, or a retry) is one entry.</summary>
    [Fact]
    public async Task Callback_Twice_IsRecordedOnce()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);

        Assert.Equal(SessionChangeOutcome.Applied, await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "inactive", 5), default));
        Assert.Equal(SessionChangeOutcome.Duplicate, await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "inactive", 5), default));

        Assert.Equal(2, (await Sessions.GetAsync("rec-1", Window, default))!.History.Count);
    }

    /// <summary>A stop asked for is final: a later "active" callback does not bring the session back.</summary>
    [Fact]
    public async Task Stop_Requested_IsFinal()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Stop, 10), default);

        Assert.Equal(SessionChangeOutcome.Stale, await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "active", 20), default));

        Assert.Equal(SessionState.Stopped, (await Sessions.GetAsync("rec-1", Window, default))!.State);
    }

    /// <summary>ACS may call back before it answers the start: the callback creates the session and the start completes it.</summary>
    [Fact]
    public async Task Callback_BeforeTheStartIsRecorded_CreatesTheSessionThatTheStartCompletes()
    {
        Assert.Equal(SessionChangeOutcome.Applied, await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "active", 1) with { ServerCallId = "server-1" }, default));
        var seen = (await Sessions.GetAsync("rec-1", Window, default))!;

        await Sessions.RecordStartAsync(Start("rec-1") with { Format = "mp3" }, default);

        var session = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.Equal((SessionChangeSource.Callback, null), (seen.Origin, seen.StartedBy));
        Assert.Equal((SessionChangeSource.Api, "alice", "mp3", SessionState.Active), (session.Origin, session.StartedBy, session.Format, session.State));
        Assert.Equal(["active", "start"], session.History.Select(h => h.Event).Order(StringComparer.Ordinal));
    }

    /// <summary>A request through the API for a recording CallVault does not know creates nothing.</summary>
    [Fact]
    public async Task Request_ForAnUnknownRecording_IsUnknown()
    {
        Assert.Equal(SessionChangeOutcome.UnknownSession, await Sessions.RecordChangeAsync(Request("rec-x", SessionAction.Pause, 1), default));

        Assert.Empty(await Sessions.ListAsync(new SessionQuery(), default));
    }

    /// <summary>StartRecordingFailed without a recording id fails the call's latest live session.</summary>
    [Fact]
    public async Task StartFailed_WithoutARecordingId_FailsTheCallsSession()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);

        var outcome = await Sessions.RecordChangeAsync(
            new SessionChange { ChangeId = "f1", Source = SessionChangeSource.Callback, OccurredAt = At(5), StartFailed = true, ServerCallId = "server-1", Detail = "Recording could not start." },
            default);

        var session = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.Equal(SessionChangeOutcome.Applied, outcome);
        Assert.Equal((SessionState.Failed, "Recording could not start."), (session.State, session.Detail));
        Assert.False(session.FilesMissing);
    }

    /// <summary>A stopped session without files turns "files missing" once the window has passed, and its files arriving clears it and link it.</summary>
    [Fact]
    public async Task StoppedWithoutFiles_IsMissingAfterTheWindow_UntilTheFilesArrive()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordStartAsync(Start("rec-2") with { ExternalStorageContainerUrl = "https://acct.blob.core.windows.net/byos" }, default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Stop, 1), default);
        await Sessions.RecordChangeAsync(Callback("rec-2", "e2", "inactive", 1), default);

        Clock.Advance(Window - TimeSpan.FromSeconds(1));
        var before = await Sessions.CountFilesMissingAsync(Window, default);
        Clock.Advance(TimeSpan.FromSeconds(1));
        var after = await Sessions.CountFilesMissingAsync(Window, default);
        var missing = await Sessions.ListAsync(new SessionQuery { FilesMissing = true, FilesMissingAfter = Window }, default);
        await Store.Queue.EnqueueAsync("ev-1", [Chunk("d1", recording: "rec-1")], default);

        Assert.Equal((0, 2), (before, after));
        Assert.Equal(["rec-2", "rec-1"], missing.Select(s => s.RecordingId));
        Assert.True(missing.All(s => s.FilesMissing));
        Assert.Equal(1, await Sessions.CountFilesMissingAsync(Window, default));
        var linked = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.False(linked.FilesMissing);
        Assert.Equal(("rec-1", 1, 0), (linked.Files!.RecordingKey, linked.Files.Chunks, linked.Files.StoredChunks));
        Assert.Contains(linked.History, h => h.Event == "filesArrived" && h.Source == SessionChangeSource.Event);
        Assert.Equal("rec-1", Assert.Single(await Sessions.ListAsync(new SessionQuery { FilesMissing = false, FilesMissingAfter = Window }, default)).RecordingId);
    }

    /// <summary>Files that arrive while the recording still runs link at once; a paused session never misses files.</summary>
    [Fact]
    public async Task FilesBeforeTheStop_LinkAtOnce_AndAPauseIsNeverMissingFiles()
    {
        await Store.Queue.EnqueueAsync("ev-1", [Chunk("d1", recording: "rec-1")], default);
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordStartAsync(Start("rec-2"), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Stop, 1), default);
        await Sessions.RecordChangeAsync(Request("rec-2", SessionAction.Pause, 1), default);

        Clock.Advance(Window * 2);

        Assert.Equal("rec-1", (await Sessions.GetAsync("rec-1", Window, default))!.Files!.RecordingKey);
        Assert.Equal(0, await Sessions.CountFilesMissingAsync(Window, default));
    }

    /// <summary>A client's idempotency key gives the same repeatability id and first-sent time on every retry, and the recording once started.</summary>
    [Fact]
    public async Task ClaimStart_SameKey_SameRepeatabilityValues()
    {
        var first = await Sessions.ClaimStartAsync("key-1", "body-a", default);
        Clock.Advance(TimeSpan.FromSeconds(10));
        var retry = await Sessions.ClaimStartAsync("key-1", "body-a", default);
        var other = await Sessions.ClaimStartAsync("key-1", "body-b", default);
        await Sessions.RecordStartAsync(Start("rec-1") with { IdempotencyKey = "key-1" }, default);
        var afterStart = await Sessions.ClaimStartAsync("key-1", "body-a", default);
        var fresh = await Sessions.ClaimStartAsync("key-2", "body-a", default);

        Assert.Equal((first.RequestId, first.FirstSent, null, true), (retry.RequestId, retry.FirstSent, retry.RecordingId, retry.SameRequest));
        Assert.False(other.SameRequest);
        Assert.Equal("rec-1", afterStart.RecordingId);
        Assert.NotEqual(first.RequestId, fresh.RequestId);
    }

    /// <summary>Two instances claiming the same key at once get the same repeatability id, so ACS starts one recording.</summary>
    [Fact]
    public async Task ClaimStart_ConcurrentlyOnTwoInstances_OneRequestId()
    {
        var other = Backend.NewInstance(Clock);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? Store : other).Sessions.ClaimStartAsync("key-1", "body", default)));

        Assert.Single(claims.Select(c => c.RequestId).Distinct());
    }

    /// <summary>Callbacks and requests recorded at once by two instances are all kept, and the newest wins.</summary>
    [Fact]
    public async Task Changes_ConcurrentlyOnTwoInstances_AllKeptNewestWins()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        var other = Backend.NewInstance(Clock);

        await Task.WhenAll(Enumerable.Range(1, 10).Select(i =>
            (i % 2 == 0 ? Store : other).Sessions.RecordChangeAsync(Callback("rec-1", $"e{i}", i % 2 == 0 ? "active" : "inactive", i), default)));

        var session = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.Equal(11, session.History.Count);
        Assert.Equal((SessionState.Active, At(10)), (session.State, session.StateChangedAt));
    }

    /// <summary>
    /// The API's start and the first callback creating the same session at once (two instances): neither fails and both
    /// are kept, however the race falls. Repeated so that both orders and the true overlap occur.
    /// </summary>
    [Fact]
    public async Task StartAndFirstCallback_ConcurrentlyOnTwoInstances_NeitherFails()
    {
        var other = Backend.NewInstance(Clock);

        for (var i = 0; i < 40; i++)
        {
            var id = $"rec-{i}";
            var start = Task.Run(() => Sessions.RecordStartAsync(Start(id), default));
            var callback = Task.Run(() => other.Sessions.RecordChangeAsync(Callback(id, $"e{i}", "active", 1), default));
            await Task.WhenAll(start, callback);

            var session = (await Sessions.GetAsync(id, Window, default))!;
            Assert.Equal(SessionChangeOutcome.Applied, await callback);
            Assert.Equal((SessionChangeSource.Api, "alice", SessionState.Active), (session.Origin, session.StartedBy, session.State));
            Assert.Equal(["active", "start"], session.History.Select(h => h.Event).Order(StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// Operator A pauses while B stops; the stop is recorded first. A's late pause (noted, then recorded) must not
    /// reopen the session: the next "inactive" leaves it stopped, and its missing files are counted.
    /// </summary>
    [Fact]
    public async Task LatePause_AfterTheStopWasRecorded_DoesNotReopenTheSession()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.NoteRequestAsync("rec-1", SessionAction.Stop, null, default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Stop, 10), default);

        await Sessions.NoteRequestAsync("rec-1", SessionAction.Pause, null, default);
        var latePause = await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Pause, 11), default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "inactive-of-stop", "inactive", 12), default);
        Clock.Advance(Window);

        var session = (await Sessions.GetAsync("rec-1", Window, default))!;
        Assert.Equal(SessionChangeOutcome.Stale, latePause);
        Assert.Equal((SessionState.Stopped, SessionAction.Stop, true), (session.State, session.LastRequested, session.FilesMissing));
        Assert.Equal(1, await Sessions.CountFilesMissingAsync(Window, default));
    }

    /// <summary>
    /// The start's time (CallVault's clock) is never compared with a callback's (ACS's clock): once a callback is
    /// applied, the start only reads it in the light of what it asked. ACS 30 s behind: the call already ended.
    /// </summary>
    [Fact]
    public async Task Start_AfterACallback_ReadsTheCallbackWhateverTheClocks()
    {
        await Sessions.RecordChangeAsync(Callback("rec-ended", "e1", "inactive", 1), default);
        await Sessions.RecordChangeAsync(Callback("rec-paused", "e2", "inactive", 1), default);

        await Sessions.RecordStartAsync(Start("rec-ended") with { StartedAt = At(30) }, default);
        await Sessions.RecordStartAsync(Start("rec-paused") with { StartedAt = At(0), PauseOnStart = true, AcsState = "inactive" }, default);

        Assert.Equal(SessionState.Stopped, (await Sessions.GetAsync("rec-ended", Window, default))!.State);
        Assert.Equal(SessionState.Paused, (await Sessions.GetAsync("rec-paused", Window, default))!.State);
    }

    /// <summary>A callback dated far in the future counts as at most five minutes after it arrived, so later callbacks still apply.</summary>
    [Fact]
    public async Task Callback_FromTheFarFuture_DoesNotBlockLaterOnes()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "active", 0) with { OccurredAt = Clock.GetUtcNow().AddDays(1) }, default);
        Clock.Advance(TimeSpan.FromMinutes(6));

        var outcome = await Sessions.RecordChangeAsync(Callback("rec-1", "e2", "inactive", 0) with { OccurredAt = Clock.GetUtcNow() }, default);

        Assert.Equal(SessionChangeOutcome.Applied, outcome);
        Assert.Equal(SessionState.Stopped, (await Sessions.GetAsync("rec-1", Window, default))!.State);
    }

    /// <summary>
    /// A StartRecordingFailed without a recording id delivered again after a new recording started on the call is a
    /// duplicate, and a failure never ends a session a callback already confirmed active.
    /// </summary>
    [Fact]
    public async Task StartFailed_Duplicate_OrAfterActive_DoesNotFailAHealthySession()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordChangeAsync(StartFailed("f1"), default);
        await Sessions.RecordStartAsync(Start("rec-2"), default);
        await Sessions.RecordChangeAsync(Callback("rec-2", "e2", "active", 2), default);

        var again = await Sessions.RecordChangeAsync(StartFailed("f1"), default);
        var late = await Sessions.RecordChangeAsync(StartFailed("f2") with { OccurredAt = At(3) }, default);

        Assert.Equal(SessionState.Failed, (await Sessions.GetAsync("rec-1", Window, default))!.State);
        Assert.Equal(SessionChangeOutcome.Duplicate, again);
        Assert.Equal(SessionChangeOutcome.Stale, late);
        Assert.Equal(SessionState.Active, (await Sessions.GetAsync("rec-2", Window, default))!.State);
    }

    /// <summary>A paused session whose recording ACS no longer knows (404: the call ended) is stopped for good, and its missing files count.</summary>
    [Fact]
    public async Task Gone_PausedSession_IsStoppedForGood()
    {
        await Sessions.RecordStartAsync(Start("rec-1"), default);
        await Sessions.RecordChangeAsync(Request("rec-1", SessionAction.Pause, 1), default);
        await Sessions.RecordChangeAsync(Callback("rec-1", "e1", "inactive", 2), default);

        var gone = await Sessions.RecordGoneAsync("rec-1", "bob", default);
        var late = await Sessions.RecordChangeAsync(Callback("rec-1", "e2", "inactive", 3), default);
        Clock.Advance(Window);

        Assert.Equal((SessionChangeOutcome.Applied, SessionChangeOutcome.Stale), (gone, late));
        Assert.Equal(SessionState.Stopped, (await Sessions.GetAsync("rec-1", Window, default))!.State);
        Assert.Equal(1, await Sessions.CountFilesMissingAsync(Window, default));
        Assert.Equal(SessionChangeOutcome.UnknownSession, await Sessions.RecordGoneAsync("rec-x", null, default));
    }

    /// <summary>Lists page newest first and filter by state.</summary>
    [Fact]
    public async Task List_PagesNewestFirstAndFiltersByState()
    {
        for (var i = 1; i <= 3; i++)
        {
            await Sessions.RecordStartAsync(Start($"rec-{i}"), default);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        await Sessions.RecordChangeAsync(Request("rec-2", SessionAction.Pause, 100), default);

        Assert.Equal(["rec-2"], (await Sessions.ListAsync(new SessionQuery { Skip = 1, Take = 1 }, default)).Select(s => s.RecordingId));
        Assert.Equal(["rec-3", "rec-1"], (await Sessions.ListAsync(new SessionQuery { State = SessionState.Active }, default)).Select(s => s.RecordingId));
        Assert.Empty((await Sessions.ListAsync(new SessionQuery(), default)).SelectMany(s => s.History));
    }

    private DateTimeOffset At(int seconds) => new DateTimeOffset(2026, 3, 3, 10, 0, 0, TimeSpan.Zero).AddSeconds(seconds);

    private SessionStart Start(string recordingId) => new()
    {
        RecordingId = recordingId,
        ServerCallId = "server-1",
        AcsState = "active",
        Actor = "alice",
        StartedAt = Clock.GetUtcNow(),
    };

    private SessionChange Request(string recordingId, SessionAction action, int seconds) => new()
    {
        RecordingId = recordingId,
        ChangeId = Guid.NewGuid().ToString("N"),
        Source = SessionChangeSource.Api,
        Actor = "bob",
        OccurredAt = At(seconds),
        Requested = action,
    };

    private SessionChange StartFailed(string eventId) => new()
    {
        ChangeId = eventId,
        Source = SessionChangeSource.Callback,
        OccurredAt = At(1),
        StartFailed = true,
        ServerCallId = "server-1",
        Detail = "Recording could not start.",
    };

    private SessionChange Callback(string recordingId, string eventId, string state, int seconds) => new()
    {
        RecordingId = recordingId,
        ChangeId = eventId,
        Source = SessionChangeSource.Callback,
        OccurredAt = At(seconds),
        ObservedState = state,
    };
}

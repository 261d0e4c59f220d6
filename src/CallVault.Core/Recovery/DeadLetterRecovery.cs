using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CallVault.Diagnostics;
using CallVault.Events;
using CallVault.Jobs;
using CallVault.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallVault.Recovery;

/// <summary>
/// One pass over the Event Grid dead-letter container: every blob not yet done is parsed (Event Grid or CloudEvents
/// schema, told per event), its recording events go through the webhook's intake and commit (so what the webhook
/// already has is a no-op), and only then is the blob marked done. Only the instance holding the lease in the job
/// database reads; the others return at once.
/// </summary>
/// <remarks>
/// <para>Crash safety: chunk outcomes are marked before the chunks are enqueued and the blob is marked done after,
/// each step idempotent; a kill anywhere leaves the blob not done, and the next pass reads it again and changes
/// nothing that was already committed.</para>
/// <para>A chunk whose event time plus <c>CallVault:AcsRetention</c> has passed is lost: ACS has deleted it. It is
/// recorded with a reason (so the worker dead-letters it without sending a request) and marked lost, logged and
/// counted, never dropped.</para>
/// <para>Failures are held per blob: a blob that throws (a storage read error, a database error while committing it)
/// is logged and counted, and the pass goes on with the next one; it is tried again in later passes after the blobs
/// that have not failed, and after <see cref="DeadLetterRecoveryOptions.MaxBlobFailures"/> failed passes in a row it is
/// kept as a rejected blob with the reason and marked done, so one bad blob cannot hold up the rest. The count is kept
/// in memory by the lease holder: a restart or a lease that moves starts it again, which only delays giving up.</para>
/// </remarks>
public sealed partial class DeadLetterRecovery(
    IDeadLetterSource source,
    IJobStore jobs,
    WebhookIntake intake,
    GroupCommitEnqueuer enqueuer,
    JobSignal signal,
    DeadLetterRecoveryMetrics metrics,
    IOptionsMonitor<DeadLetterRecoveryOptions> options,
    IOptionsMonitor<CallVaultOptions> callVaultOptions,
    TimeProvider timeProvider,
    ILogger<DeadLetterRecovery> logger)
{
    /// <summary>The most characters of an unreadable blob kept with its rejection (the rest is in the container).</summary>
    private const int MaxKeptBlobCharacters = RejectedEventLimits.MaxRawJsonLength;

    /// <summary>Failed passes in a row per blob (name and ETag: a rewritten blob starts again from zero).</summary>
    private readonly ConcurrentDictionary<DeadLetterBlobRef, int> _failures = new();

    private IDeadLetterRecoveryStore Store => jobs.DeadLetterRecovery;

    /// <summary>Reads every new blob once, if this instance holds (or can take) the lease.</summary>
    /// <param name="owner">This instance's name for the lease.</param>
    /// <param name="cancellationToken">Stops between steps; what was committed stays committed.</param>
    /// <returns>What the pass did; <see cref="DeadLetterPassResult.Leader"/> is false when another instance holds the lease.</returns>
    public async Task<DeadLetterPassResult> RunOnceAsync(string owner, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        if (!await Store.TryAcquireLeaseAsync(owner, settings.LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            return new DeadLetterPassResult(Leader: false, [], 0);
        }

        var pending = new List<DeadLetterBlobRef>();
        var page = new List<DeadLetterBlobRef>();
        var listed = 0;
        await foreach (var blob in source.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            listed++;
            page.Add(blob);
            if (page.Count == 200)
            {
                await KeepNotDoneAsync(page, pending, cancellationToken).ConfigureAwait(false);
            }
        }

        await KeepNotDoneAsync(page, pending, cancellationToken).ConfigureAwait(false);

        // Counts of blobs no longer pending (done, deleted, rewritten) are dropped, so the map stays as small as the
        // set of blobs failing right now.
        var pendingSet = pending.ToHashSet();
        foreach (var stale in _failures.Keys.Where(b => !pendingSet.Contains(b)))
        {
            _failures.TryRemove(stale, out _);
        }

        // Blobs that failed before go last (a stable sort keeps the listing order otherwise), so that one that keeps
        // failing never delays the others.
        pending = [.. pending.OrderBy(b => _failures.GetValueOrDefault(b))];
        var done = new List<DeadLetterBlobProgress>();
        var failed = 0;
        foreach (var blob in pending)
        {
            // Renewed before each blob: a pass longer than the lease must not run beside the next holder's.
            if (!await Store.TryAcquireLeaseAsync(owner, settings.LeaseDuration, cancellationToken).ConfigureAwait(false))
            {
                Log.LeaseLost(logger, owner);
                break;
            }

            try
            {
                if (await RecoverBlobAsync(blob, settings, cancellationToken).ConfigureAwait(false) is { } progress)
                {
                    done.Add(progress);
                    _failures.TryRemove(blob, out _);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failed++;
                if (await BlobFailedAsync(owner, blob, ex, settings, cancellationToken).ConfigureAwait(false) is { } givenUp)
                {
                    done.Add(givenUp);
                }
            }
        }

        return new DeadLetterPassResult(Leader: true, done, listed, failed);
    }

    /// <summary>Counts a blob's failure; at the bound, keeps it as rejected and marks it done.</summary>
    /// <returns>The blob's progress when it was given up, otherwise null (tried again next pass).</returns>
    private async Task<DeadLetterBlobProgress?> BlobFailedAsync(string owner, DeadLetterBlobRef blob, Exception failure, DeadLetterRecoveryOptions settings, CancellationToken cancellationToken)
    {
        // A job database outage fails every blob alike and is no fault of this one: the lease renewal then fails too,
        // ending the pass without holding the failure against the blob.
        if (!await Store.TryAcquireLeaseAsync(owner, settings.LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var failures = _failures.AddOrUpdate(blob, 1, (_, count) => count + 1);
        metrics.BlobsFailed.Add(1);
        var category = FailureCategory(failure);
        if (failures < settings.MaxBlobFailures)
        {
            Log.BlobFailed(logger, blob.Name, failures, settings.MaxBlobFailures, failure);
            return null;
        }

        Log.BlobGivenUp(logger, blob.Name, failures, failure);

        // Only the exception's type is kept with the rejection (readers see it); its message may name the account or
        // a URL, and stays in the log.
        var reason = string.Create(CultureInfo.InvariantCulture, $"Reading or committing the dead-letter blob failed in {failures} passes in a row ({category}); it was given up (CallVault:Recovery:DeadLetter:MaxBlobFailures). The details are in the log.");
        var progress = await RejectBlobAsync(blob, reason, string.Empty, cancellationToken).ConfigureAwait(false);
        await Store.MarkBlobDoneAsync(progress, cancellationToken).ConfigureAwait(false);
        _failures.TryRemove(blob, out _);
        metrics.BlobsRead.Add(1);
        metrics.EventsRejected.Add(progress.EventsRejected);
        return progress;
    }

    /// <summary>A short, secret-free name for a failure: its exception type, never its message.</summary>
    /// <param name="failure">The failure.</param>
    /// <returns>The exception's type name (e.g. <c>RequestFailedException</c>).</returns>
    public static string FailureCategory(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure.GetType().Name;
    }

    private async Task KeepNotDoneAsync(List<DeadLetterBlobRef> page, List<DeadLetterBlobRef> pending, CancellationToken cancellationToken)
    {
        if (page.Count == 0)
        {
            return;
        }

        var done = await Store.FindDoneAsync(page, cancellationToken).ConfigureAwait(false);
        pending.AddRange(page.Where(b => !done.Contains(b.Name)));
        page.Clear();
    }

    /// <summary>Recovers one blob; returns its progress, or null when it changed under the read (the next pass reads it again).</summary>
    private async Task<DeadLetterBlobProgress?> RecoverBlobAsync(DeadLetterBlobRef blob, DeadLetterRecoveryOptions settings, CancellationToken cancellationToken)
    {
        var read = await source.ReadAsync(blob, settings.MaxBlobBytes, cancellationToken).ConfigureAwait(false);
        DeadLetterBlobProgress progress;
        switch (read)
        {
            case DeadLetterBlobRead.Changed:
                return null;
            case DeadLetterBlobRead.TooLarge tooLarge:
                progress = await RejectBlobAsync(blob, $"The dead-letter blob is {tooLarge.Length} bytes, more than {settings.MaxBlobBytes} (CallVault:Recovery:DeadLetter:MaxBlobBytes); it was not read.", string.Empty, cancellationToken).ConfigureAwait(false);
                break;
            case DeadLetterBlobRead.Read { Content: var content }:
                progress = await RecoverContentAsync(blob, content, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException("Unknown blob read.");
        }

        CrashPoint.Hit("recovery.after-commit");
        await Store.MarkBlobDoneAsync(progress, cancellationToken).ConfigureAwait(false);
        metrics.BlobsRead.Add(1);
        metrics.EventsRecovered.Add(progress.EventsRecovered);
        metrics.EventsSkipped.Add(progress.EventsSkipped);
        metrics.EventsLost.Add(progress.EventsLost);
        metrics.EventsRejected.Add(progress.EventsRejected);
        Log.BlobDone(logger, blob.Name, progress.EventsRecovered, progress.NewChunks, progress.EventsSkipped, progress.EventsLost, progress.EventsRejected);
        if (settings.DeleteAfterRecovery)
        {
            await source.DeleteAsync(blob, cancellationToken).ConfigureAwait(false);
        }

        return progress;
    }

    private async Task<DeadLetterBlobProgress> RecoverContentAsync(DeadLetterBlobRef blob, BinaryData content, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content);
        }
        catch (JsonException ex)
        {
            return await RejectBlobAsync(blob, $"The dead-letter blob is not valid JSON: {ex.Message}", Text(content), cancellationToken).ConfigureAwait(false);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return await RejectBlobAsync(blob, $"The dead-letter blob's root is a {document.RootElement.ValueKind}, not an array of events.", Text(content), cancellationToken).ConfigureAwait(false);
            }

            var events = intake.ParseEvents([.. document.RootElement.EnumerateArray()]);
            return await CommitAsync(blob, events, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<DeadLetterBlobProgress> CommitAsync(DeadLetterBlobRef blob, IntakeResult.Events events, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var retention = callVaultOptions.CurrentValue.AcsRetention;
        var batch = new List<EventChunks>();
        var marks = new List<DeadLetterChunkMark>();
        var lostEvents = 0;
        foreach (var accepted in events.Accepted)
        {
            var chunks = new List<ChunkRequest>();
            var lost = false;
            foreach (var chunk in accepted.Chunks)
            {
                // An event without a time (a CloudEvent may omit it; ACS never does) cannot be judged late, so it is
                // downloaded as usual and ACS's answer decides.
                var expiresAt = chunk.EventTime + retention;
                var isLost = chunk.EventTime != DateTimeOffset.MinValue && expiresAt <= now;
                lost |= isLost;
                marks.Add(new DeadLetterChunkMark
                {
                    DocumentId = chunk.DocumentId,
                    Outcome = isLost ? DeadLetterChunkOutcome.Lost : DeadLetterChunkOutcome.Recovered,
                    RecordingKey = chunk.Recording.Key,
                    RecordingId = chunk.Recording.RecordingId,
                    CallId = chunk.Recording.CallId,
                    EventId = accepted.EventId,
                    ChunkIndex = chunk.Index,
                    EventTime = chunk.EventTime,
                    AcsExpiresAt = expiresAt,
                    BlobName = blob.Name,
                });

                // Recorded with a reason, so that the chunk shows in its recording and the worker fails it without a
                // request to ACS (where it no longer is).
                chunks.Add(isLost && chunk.RejectedReason is null
                    ? chunk with { RejectedReason = string.Create(CultureInfo.InvariantCulture, $"Lost: only a dead-letter blob ({blob.Name}) announced this chunk, after ACS's retention ended at {expiresAt:u}; it was not downloaded.") }
                    : chunk);
            }

            lostEvents += lost ? 1 : 0;
            batch.Add(new EventChunks(accepted.EventId, chunks));
        }

        var marked = await Store.MarkChunksAsync(marks, cancellationToken).ConfigureAwait(false);
        foreach (var mark in marked.Marked.Where(m => m.Outcome == DeadLetterChunkOutcome.Lost))
        {
            Log.ChunkLost(logger, mark.DocumentId, mark.RecordingId, mark.CallId, mark.EventId, mark.AcsExpiresAt, blob.Name);
        }

        if (events.Rejected.Count > 0)
        {
            await jobs.RejectedEvents.RecordAsync(
                [.. events.Rejected.Select(r => new RejectedEvent(r.EventId, r.EventType, r.Reason, r.RawJson, DeliveryId(blob)))],
                cancellationToken).ConfigureAwait(false);
        }

        var added = (await enqueuer.EnqueueAsync(batch, cancellationToken).ConfigureAwait(false)).NewChunks;
        signal.Notify(added);
        return new DeadLetterBlobProgress
        {
            Name = blob.Name,
            ETag = blob.ETag,
            EventsRecovered = events.Accepted.Count - lostEvents,
            EventsSkipped = events.Ignored.Values.Sum(),
            EventsLost = lostEvents,
            EventsRejected = events.Rejected.Count,
            NewChunks = added,
        };
    }

    private async Task<DeadLetterBlobProgress> RejectBlobAsync(DeadLetterBlobRef blob, string reason, string raw, CancellationToken cancellationToken)
    {
        Log.BlobRejected(logger, blob.Name, reason);
        await jobs.RejectedEvents.RecordAsync([new RejectedEvent(null, null, $"{reason} (dead-letter blob {blob.Name})", raw, DeliveryId(blob))], cancellationToken).ConfigureAwait(false);
        return new DeadLetterBlobProgress { Name = blob.Name, ETag = blob.ETag, EventsRejected = 1, RejectedReason = reason };
    }

    private static string DeliveryId(DeadLetterBlobRef blob) => "dead-letter:" + blob.Name;

    private static string Text(BinaryData content)
    {
        var bytes = content.ToMemory();
        var text = Encoding.UTF8.GetString(bytes.Span[..Math.Min(bytes.Length, MaxKeptBlobCharacters * 4)]);
        return text.Length > MaxKeptBlobCharacters ? text[..MaxKeptBlobCharacters] : text;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Dead-letter blob {Blob} done: {Recovered} recording event(s) committed ({NewChunks} new chunk(s)), {Skipped} other event(s) skipped, {Lost} lost, {Rejected} rejected")]
        public static partial void BlobDone(ILogger logger, string blob, long recovered, long newChunks, long skipped, long lost, long rejected);

        [LoggerMessage(2, LogLevel.Warning, "Dead-letter blob {Blob} could not be read and is kept as a rejected event: {Reason}")]
        public static partial void BlobRejected(ILogger logger, string blob, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Chunk {DocumentId} of recording {RecordingId} (call {CallId}, event {EventId}) is lost: it reached CallVault only through dead-letter blob {Blob}, after ACS deleted it at {ExpiredAt:u}")]
        public static partial void ChunkLost(ILogger logger, string documentId, string? recordingId, string? callId, string eventId, DateTimeOffset expiredAt, string blob);

        [LoggerMessage(4, LogLevel.Warning, "Lost the dead-letter polling lease ({Owner}) during a pass; another instance continues")]
        public static partial void LeaseLost(ILogger logger, string owner);

        [LoggerMessage(5, LogLevel.Warning, "Dead-letter blob {Blob} failed ({Failures} of {MaxFailures} passes in a row); the pass goes on with the next blob and this one is tried again next pass")]
        public static partial void BlobFailed(ILogger logger, string blob, int failures, int maxFailures, Exception exception);

        [LoggerMessage(6, LogLevel.Error, "Dead-letter blob {Blob} failed in {Failures} passes in a row; it is given up, kept as a rejected event and marked done")]
        public static partial void BlobGivenUp(ILogger logger, string blob, int failures, Exception exception);
    }
}

/// <summary>What one recovery pass did.</summary>
/// <param name="Leader">Whether this instance held the lease (false: another instance polls, nothing was read).</param>
/// <param name="Blobs">The blobs read to the end in this pass.</param>
/// <param name="Listed">Blobs in the container, done or not.</param>
/// <param name="Failed">Blobs that failed in this pass (given up ones included; those are also in <paramref name="Blobs"/>).</param>
public sealed record DeadLetterPassResult(bool Leader, IReadOnlyList<DeadLetterBlobProgress> Blobs, int Listed, int Failed = 0);

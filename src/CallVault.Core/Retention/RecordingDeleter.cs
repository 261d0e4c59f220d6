using CallVault.Audit;
using CallVault.Diagnostics;
using CallVault.Jobs;
using CallVault.Storage;
using Microsoft.Extensions.Logging;

namespace CallVault.Retention;

/// <summary>
/// Deletes one recording, resumably: it is marked in the job database before anything is touched (refused when held or
/// not wholly stored and verified), then its chunk files, metadata and manifest are deleted from the store, then its
/// tombstone is written and its rows removed in one write unit, then the manifest is deleted once more (a manifest writer
/// that read the rows just before they went may have rewritten it) and the mark removed. A crash anywhere leaves the mark,
/// and running the deletion again (the sweep does, for every mark it finds) finishes it: deleting what is gone succeeds
/// and the tombstone is written once. Media exported to the customer's own container (store paths <c>byos/…</c>) is
/// the customer's and is never deleted; the tombstone says so.
/// </summary>
public sealed partial class RecordingDeleter(IJobStore jobs, IRecordingStore store, RetentionMetrics metrics, ILogger<RecordingDeleter> logger)
{
    /// <summary>The caller recorded in the audit log for deletions by the retention sweep.</summary>
    public const string RetentionCaller = "retention";

    private const string ManualRulePrefix = "manual:";

    /// <summary>The rule of a deletion by hand.</summary>
    public static string ManualRule(string who) => ManualRulePrefix + who;

    /// <summary>Deletes a recording, or says why not.</summary>
    /// <param name="recordingKey">The recording.</param>
    /// <param name="rule">Why: <c>retention:KeepDays=N</c> or <c>manual:{who}</c>.</param>
    /// <param name="storedBefore">For retention: only when stored wholly before this time; null by hand.</param>
    /// <param name="caller">
    /// Who deletes, from where, for the audit record (its action and key are set here); null for the retention sweep,
    /// recorded as <see cref="RetentionCaller"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the deletion; it resumes at the next sweep.</param>
    public async Task<DeletionResult> DeleteAsync(string recordingKey, string rule, DateTimeOffset? storedBefore, AccessAuditEntry? caller, CancellationToken cancellationToken)
    {
        var start = await jobs.Retention.BeginDeletionAsync(recordingKey, rule, storedBefore, cancellationToken).ConfigureAwait(false);
        if (start.Deletion is not { } deletion)
        {
            return new DeletionResult(start.Outcome, null, start.Hold);
        }

        var (tombstone, written) = await RunAsync(deletion, caller, cancellationToken).ConfigureAwait(false);
        return new DeletionResult(start.Outcome, tombstone, null) { Written = written };
    }

    /// <summary>Finishes a deletion an earlier attempt began.</summary>
    /// <returns>The tombstone, and whether this call wrote it.</returns>
    public Task<(Tombstone Tombstone, bool Written)> ResumeAsync(RetentionDeletion deletion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deletion);
        return RunAsync(deletion, caller: null, cancellationToken);
    }

    private async Task<(Tombstone Tombstone, bool Written)> RunAsync(RetentionDeletion deletion, AccessAuditEntry? caller, CancellationToken cancellationToken)
    {
        var key = deletion.RecordingKey;
        var manifest = RecordingLayout.ManifestPath(deletion.Folder);
        if (await jobs.Recordings.GetRecordingAsync(key, cancellationToken).ConfigureAwait(false) is { } details)
        {
            foreach (var chunk in details.Chunks)
            {
                if (chunk.Media is { } media && !media.Path.StartsWith(Byos.ExportedBlob.StorePathPrefix, StringComparison.Ordinal))
                {
                    await store.DeleteAsync(media.Path, cancellationToken).ConfigureAwait(false);
                    CrashPoint.Hit("retention.after-media");
                }

                if (chunk.Metadata is { } metadata)
                {
                    await store.DeleteAsync(metadata.Path, cancellationToken).ConfigureAwait(false);
                }
            }

            await store.DeleteAsync(manifest, cancellationToken).ConfigureAwait(false);

            // Recorded while the rows are still there, before the tombstone: a crash in between records the deletion
            // again when it resumes, so the audit log may hold it twice but never misses it.
            var who = caller?.Who ?? (deletion.Rule.StartsWith(ManualRulePrefix, StringComparison.Ordinal) ? deletion.Rule[ManualRulePrefix.Length..] : RetentionCaller);
            await jobs.AccessAudit.AppendAsync(
                [(caller ?? new AccessAuditEntry { Who = who, Action = AccessAuditActions.RecordingDelete }) with
                {
                    Who = who, Action = AccessAuditActions.RecordingDelete, RecordingKey = key, Status = 200,
                }],
                CancellationToken.None).ConfigureAwait(false);
        }

        CrashPoint.Hit("retention.before-rows");
        var (tombstone, written) = await jobs.Retention.CompleteDeletionAsync(key, cancellationToken).ConfigureAwait(false);
        CrashPoint.Hit("retention.after-rows");
        await store.DeleteAsync(manifest, cancellationToken).ConfigureAwait(false);
        await jobs.Retention.FinishDeletionAsync(key, cancellationToken).ConfigureAwait(false);
        if (written)
        {
            var manual = tombstone.Rule.StartsWith(ManualRulePrefix, StringComparison.Ordinal);
            metrics.Deleted.Add(1, new KeyValuePair<string, object?>("rule", manual ? "manual" : "retention"));
            Log.Deleted(logger, key, tombstone.Rule, tombstone.Chunks.Count, tombstone.MediaBytes);
        }

        return (tombstone, written);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Deleted recording {RecordingKey} ({Rule}): {Chunks} chunks, {MediaBytes} media bytes; tombstone kept")]
        public static partial void Deleted(ILogger logger, string recordingKey, string rule, int chunks, long mediaBytes);
    }
}

/// <summary>What a deletion did.</summary>
/// <param name="Outcome">Started or resumed (then <paramref name="Tombstone"/> is set), or why nothing was deleted.</param>
/// <param name="Tombstone">The deleted recording's tombstone.</param>
/// <param name="Hold">The hold that refused the deletion.</param>
public sealed record DeletionResult(DeletionOutcome Outcome, Tombstone? Tombstone, LegalHold? Hold)
{
    /// <summary>Whether this deletion wrote <see cref="Tombstone"/> (false: it was there already; nothing was deleted now).</summary>
    public bool Written { get; init; }
}

using System.Security.Cryptography;
using System.Text;
using CallVault.Acs;
using CallVault.Acs.Downloads;
using CallVault.Acs.Errors;
using CallVault.Acs.Hosts;
using CallVault.Acs.Recordings;
using CallVault.Byos;
using CallVault.Diagnostics;
using CallVault.Jobs;
using CallVault.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallVault.Processing;

/// <summary>
/// Downloads leased chunks: metadata first (it names the format), then the media through a resumable upload, then the
/// manifest, then (when configured) the deletion from ACS. What is stored is recorded with the completion, in one commit
/// (before the deletion when there is one), so a retry or a restart redoes nothing that is already stored: it finds the
/// stored files and takes them over. On shutdown the leases are released and the partial files kept.
/// </summary>
public sealed partial class ChunkDownloadWorker(
    IJobStore jobs,
    IRecordingStore store,
    AcsRecordingClient acs,
    ManifestWriter manifests,
    JobSignal signal,
    DownloadsInFlight inFlight,
    CallVaultMetrics metrics,
    IOptionsMonitor<CallVaultOptions> options,
    IOptionsMonitor<AcsClientOptions> acsOptions,
    TimeProvider timeProvider,
    ILogger<ChunkDownloadWorker> logger,
    ExportedBlobLocations? exportedLocations = null,
    IExportedBlobReader? exportedBlobs = null) : BackgroundService
{
    private const long MaxExportedMetadataBytes = 1024 * 1024;

    /// <summary>How close to ACS's deletion a chunk's stored files are recorded as soon as the media is stored.</summary>
    private static readonly TimeSpan RecordAtOnceBeforeAcsExpiry = TimeSpan.FromHours(2);

    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}"[..^24];

    /// <summary>Chunks stored by this process.</summary>
    public long ChunksStored => Interlocked.Read(ref _chunksStored);

    private long _chunksStored;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var concurrency = options.CurrentValue.Worker.Concurrency;
        return Task.WhenAll(Enumerable.Range(0, concurrency).Select(i => RunLoopAsync($"{_owner}#{i}", stoppingToken)));
    }

    private async Task RunLoopAsync(string owner, CancellationToken stoppingToken)
    {
        await Task.Yield();

        // The chunk leased by the commit that completed the previous one: in a backlog, a worker leases through the
        // queue only when it was idle, and every chunk costs one commit instead of two.
        HeldLease? next = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Spans are on the wall clock whatever clock the worker runs on.
            var leaseStarted = TimeProvider.System.GetUtcNow();
            var held = next;
            next = null;
            if (held is null)
            {
                ChunkLease? lease;
                var leaseDuration = options.CurrentValue.Worker.LeaseDuration;
                try
                {
                    if (!IsConfigured())
                    {
                        await signal.WaitAsync(options.CurrentValue.Worker.PollInterval * 5, stoppingToken).ConfigureAwait(false);
                        continue;
                    }

                    lease = await jobs.Queue.TryLeaseAsync(owner, leaseDuration, stoppingToken).ConfigureAwait(false);
                    if (lease is null)
                    {
                        await signal.WaitAsync(options.CurrentValue.Worker.PollInterval, stoppingToken).ConfigureAwait(false);
                        continue;
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    Log.LeaseFailed(logger, ex);
                    await Task.Delay(options.CurrentValue.Worker.PollInterval, timeProvider, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                held = Hold(lease, leaseDuration, stoppingToken);
            }

            next = await ProcessAsync(held, leaseStarted, stoppingToken).ConfigureAwait(false);
        }

        // Stopping with a chunk leased by the last completion: it is due again at once, for the next start or instance.
        if (next is not null)
        {
            await next.DisposeAsync().ConfigureAwait(false);
            await TryAsync(() => jobs.Transitions.ReleaseAsync(next.Lease, CancellationToken.None)).ConfigureAwait(false);
        }
    }

    /// <summary>Starts renewing a lease just taken, for as long as its chunk is worked on.</summary>
    private HeldLease Hold(ChunkLease lease, TimeSpan leaseDuration, CancellationToken stoppingToken)
    {
        var work = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var renewal = new LeaseRenewal(jobs.Queue, lease, leaseDuration, timeProvider, logger);
        return new HeldLease(lease, work, renewal, renewal.RunAsync(work));
    }

    /// <summary>A lease and its renewal, from when it was taken to when its chunk's work ends (disposing it).</summary>
    /// <param name="Lease">The chunk's lease.</param>
    /// <param name="Work">Cancelled when the work ends, or by the renewal when the lease is lost.</param>
    /// <param name="Renewal">Says whether the lease was lost.</param>
    /// <param name="Renewing">The renewal's loop.</param>
    private sealed record HeldLease(ChunkLease Lease, CancellationTokenSource Work, LeaseRenewal Renewal, Task Renewing) : IAsyncDisposable
    {
        /// <summary>Ends the renewal (and cancels the work); may be called more than once.</summary>
        public async Task EndRenewalAsync()
        {
            await Work.CancelAsync().ConfigureAwait(false);
            await Renewing.ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            await EndRenewalAsync().ConfigureAwait(false);
            Work.Dispose();
        }
    }

    private bool IsConfigured() => !string.IsNullOrWhiteSpace(acsOptions.CurrentValue.ConnectionString);

    /// <param name="held">The chunk's lease, being renewed; ended here.</param>
    /// <param name="leaseStarted">When the worker began looking for the chunk, for the lease span.</param>
    /// <param name="stoppingToken">The service stopping.</param>
    /// <returns>The next chunk's lease, renewed from the moment the completing commit took it; null when it took none.</returns>
    private async Task<HeldLease?> ProcessAsync(HeldLease held, DateTimeOffset leaseStarted, CancellationToken stoppingToken)
    {
        HeldLease? next = null;
        var lease = held.Lease;
        var work = held.Work;
        var request = lease.Job.Request;
        using var activity = StartChunkActivity(lease, leaseStarted);
        using var scope = logger.BeginScope(new LogScope(
            new("DocumentId", request.DocumentId),
            new("CallId", request.Recording.CallId),
            new("RecordingKey", request.Recording.Key)));
        var started = timeProvider.GetTimestamp();
        try
        {
            if (request.RejectedReason is { } rejected)
            {
                await jobs.Transitions.FailAsync(lease, rejected, retryAt: null, CancellationToken.None).ConfigureAwait(false);
                return null;
            }

            DownloadOutcome outcome;
            var download = inFlight.Start(request, timeProvider.GetUtcNow());
            try
            {
                outcome = await DownloadAsync(lease, download, work.Token).ConfigureAwait(false);
            }
            finally
            {
                inFlight.Finish(download);
            }

            // The manifest before the job is completed (a crash in between leaves the chunk to be retried, which skips
            // the stored files and writes it again). Again after, only when other chunks of the recording were not
            // stored yet: they may complete meanwhile, here or on another instance, and the last write must list them.
            // When this chunk was the recording's last, the first write already says everything.
            var folder = RecordingLayout.FolderOf(request.Recording, request.EventTime);
            var unrecorded = outcome.Unrecorded;
            var completing = lease.Job with
            {
                Media = unrecorded.Media ?? lease.Job.Media,
                Metadata = unrecorded.Metadata ?? lease.Job.Metadata,
                MetadataJson = unrecorded.MetadataJson ?? lease.Job.MetadataJson,
            };
            bool wroteEveryChunk;
            using (StartStep(CallVaultTelemetry.Spans.Manifest, request))
            {
                wroteEveryChunk = await manifests.WriteAsync(request.Recording.Key, folder, completing, work.Token).ConfigureAwait(false);
            }

            // Metadata and media stored in this attempt are recorded in the same commit that marks the chunk stored:
            // both files are synced already, and a crash before this commit finds them and takes them over on retry.
            // The same commit leases this worker's next chunk, unless the service is stopping.
            CrashPoint.Hit("worker.before-complete");
            if (stoppingToken.IsCancellationRequested)
            {
                await jobs.Transitions.CompleteAsync(lease, unrecorded, outcome.Note, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                // The next lease is renewed from the moment the commit returns: whatever runs before its chunk's work
                // starts (the manifest's second write, this chunk's teardown) takes nothing from it.
                var leaseDuration = options.CurrentValue.Worker.LeaseDuration;
                if (await jobs.Transitions.CompleteAndLeaseNextAsync(lease, unrecorded, outcome.Note, lease.Owner, leaseDuration, CancellationToken.None).ConfigureAwait(false) is { } nextLease)
                {
                    next = Hold(nextLease, leaseDuration, stoppingToken);
                }
            }

            // The completed chunk's lease is gone with the commit: renewing it on would only find it lost and say so.
            await held.EndRenewalAsync().ConfigureAwait(false);

            Interlocked.Increment(ref _chunksStored);
            metrics.ChunksStored.Add(1);
            metrics.DownloadDuration.Record(timeProvider.GetElapsedTime(started).TotalSeconds);
            if (!wroteEveryChunk)
            {
                await manifests.WriteAsync(request.Recording.Key, folder, completing: null, CancellationToken.None).ConfigureAwait(false);
            }

            Log.Stored(logger, request.DocumentId, request.Index);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the partial file is the checkpoint; the chunk is due again at once on the next start.
            await TryAsync(() => jobs.Transitions.ReleaseAsync(lease, CancellationToken.None)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LeaseLostException || held.Renewal.IsLost)
        {
            // Not a download failure: another worker owns the chunk now, and nothing this one did was recorded.
            Log.LeaseLost(logger, request.DocumentId);
        }
        catch (Exception ex)
        {
            TagFailure(activity, ex);
            await FailAsync(lease, ex).ConfigureAwait(false);
        }
        finally
        {
            await held.DisposeAsync().ConfigureAwait(false);
        }

        // Whatever failed after the completing commit (the manifest's second write), the lease it took is this worker's.
        return next;
    }

    /// <summary>What a download did: the steps done but not recorded yet, and a note on something left undone on purpose.</summary>
    /// <param name="Unrecorded">Metadata and media stored (and synced) in this attempt, for the completing commit to record.</param>
    /// <param name="Note">Kept with the stored chunk; null when all was done.</param>
    private sealed record DownloadOutcome(ChunkProgress Unrecorded, string? Note);

    private async Task<DownloadOutcome> DownloadAsync(ChunkLease lease, IProgress<AcsDownloadProgress> progress, CancellationToken cancellationToken)
    {
        var job = lease.Job;
        var request = job.Request;
        var folder = RecordingLayout.FolderOf(request.Recording, request.EventTime);
        if (exportedBlobs is not null
            && exportedLocations?.Match(request.ContentLocation) is { } mediaBlob
            && exportedLocations.Match(request.MetadataLocation) is { } metadataBlob
            && mediaBlob.Container == metadataBlob.Container)
        {
            await ReadExportedAsync(lease, folder, mediaBlob, metadataBlob, exportedBlobs, cancellationToken).ConfigureAwait(false);
            return new DownloadOutcome(new ChunkProgress(), null);
        }

        var (contentLocation, metadataLocation) = Locations(request);

        var unrecorded = new ChunkProgress();
        var metadataJson = job.MetadataJson;
        var format = request.Recording.FormatType;
        if (job.Metadata is null)
        {
            var path = RecordingLayout.MetadataPath(folder, request.Index);

            // Not recorded on its own: the completing commit records it, so one commit serves a small chunk. A retry
            // (after a crash, a stop or a failed media download) adopts the document an earlier attempt stored rather
            // than fetching it again: it needs nothing from ACS, which may have deleted the chunk meanwhile.
            var json = await TryAdoptStoredMetadataAsync(path, request.DocumentId, cancellationToken).ConfigureAwait(false);
            if (json is null)
            {
                using var metadataActivity = StartStep(CallVaultTelemetry.Spans.Metadata, request);
                (json, var fetched) = await acs.GetMetadataAsync(metadataLocation, cancellationToken).ConfigureAwait(false);
                metadataActivity?.SetTag(CallVaultTelemetry.Attributes.Bytes, json.Length);
                if (fetched.ChunkDocumentId is { } documentId && !documentId.Equals(request.DocumentId, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"The metadata document is for chunk {documentId}, not {request.DocumentId}.");
                }

                json = await WriteMetadataOnceAsync(path, json, request.DocumentId, cancellationToken).ConfigureAwait(false);
            }

            var metadata = RecordingMetadata.Parse(json);
            metadataJson = Encoding.UTF8.GetString(json);
            format ??= metadata.Format;
            unrecorded = unrecorded with
            {
                Metadata = new StoredObjectInfo(path, json.Length, Convert.ToHexStringLower(SHA256.HashData(json)), "application/json"),
                MetadataJson = metadataJson,
                // Participant ids become search terms in an index: one the database cannot hold (a NUL, an id
                // longer than an index entry allows) is left out of the search rather than failing the chunk.
                Participants = [.. metadata.Participants.Select(p => p.ParticipantId).Where(p => p.Length > 0 && Events.StoredText.Problem("a participant id", p, Events.StoredText.MaxIndexedLength) is null)],
            };
        }
        else if (metadataJson is not null && format is null)
        {
            format = RecordingMetadata.Parse(Encoding.UTF8.GetBytes(metadataJson)).Format;
        }

        if (job.Media is null)
        {
            var path = RecordingLayout.MediaPath(folder, request.Index, RecordingLayout.ExtensionFor(format));
            var media = await TryAdoptStoredMediaAsync(path, contentLocation, request.DocumentId, cancellationToken).ConfigureAwait(false)
                ?? await DownloadMediaAsync(lease, path, contentLocation, progress, cancellationToken).ConfigureAwait(false);
            unrecorded = unrecorded with { Media = media };

            // Stored media is adopted on a retry only once ACS's size and last bytes match it, and nothing durable
            // before the completing commit proves it is the whole object (the metadata document carries no size or
            // hash, ACS's length is only known in memory, the upload's checkpoint is gone once it is published). A
            // chunk that ACS deletes soon would then be dead-lettered although both files are stored: for those the
            // files are recorded at once, one more commit, so a retry needs nothing from ACS.
            if (request.EventTime + options.CurrentValue.AcsRetention - timeProvider.GetUtcNow() < RecordAtOnceBeforeAcsExpiry)
            {
                await jobs.Transitions.RecordProgressAsync(lease, unrecorded, cancellationToken).ConfigureAwait(false);
                unrecorded = new ChunkProgress();
            }
        }

        if (options.CurrentValue.DeleteAfterDownload && request.DeleteLocation is { } deleteLocation && job.DeletedFromAcsAt is null)
        {
            // The event names the URL, so it could name any object on an allowed host: only the object that is this
            // chunk (its id is the chunk's document id) is deleted, never another recording's.
            if (!RecordingObjectUrl.NamesDocument(deleteLocation, request.DocumentId))
            {
                var named = RecordingObjectUrl.DocumentIdOf(deleteLocation) is { } other ? $"object {other}" : "no recording object";
                Log.DeleteRefused(logger, request.DocumentId, named);
                return new DownloadOutcome(unrecorded, $"Stored, but not deleted from ACS: the event's delete location names {named}, not this chunk ({request.DocumentId}).");
            }

            // The media stored must have come from this very object too: a content location of an unknown shape (or
            // naming another object) leaves the chunk in ACS rather than risk deleting what was never read.
            if (request.ContentLocation is { } content && !RecordingObjectUrl.NamesDocument(content, request.DocumentId, allowContent: true))
            {
                Log.DeleteRefused(logger, request.DocumentId, $"a content location that does not name it ({content.AbsolutePath})");
                return new DownloadOutcome(unrecorded, $"Stored, but not deleted from ACS: the event's content location does not name this chunk ({request.DocumentId}), so the stored media cannot be proven to be its bytes.");
            }

            // Only reached once media and metadata are committed and recorded: nothing is deleted before it is safe.
            if (unrecorded.Media is not null || unrecorded.Metadata is not null)
            {
                await jobs.Transitions.RecordProgressAsync(lease, unrecorded, cancellationToken).ConfigureAwait(false);
                unrecorded = new ChunkProgress();
            }

            using var deleteActivity = StartStep(CallVaultTelemetry.Spans.DeleteFromAcs, request);
            await acs.DeleteAsync(deleteLocation, cancellationToken).ConfigureAwait(false);
            unrecorded = new ChunkProgress { DeletedFromAcsAt = timeProvider.GetUtcNow() };
        }

        return new DownloadOutcome(unrecorded, null);
    }

    /// <summary>
    /// A chunk ACS exported to a configured container: the metadata is read from there and kept in CallVault's store
    /// like any other; the media stays where it is and is recorded by its SHA-256 and length, after checking that both
    /// blobs are this chunk's (their names carry its document id, the metadata names it) and that the media is in the
    /// format the metadata states and not empty.
    /// </summary>
    private async Task ReadExportedAsync(ChunkLease lease, string folder, ExportedBlob mediaBlob, ExportedBlob metadataBlob, IExportedBlobReader reader, CancellationToken cancellationToken)
    {
        var job = lease.Job;
        var request = job.Request;
        var namesChunk = $".{request.DocumentId}.";
        if (!mediaBlob.BlobName.Contains(namesChunk, StringComparison.Ordinal) || !metadataBlob.BlobName.Contains(namesChunk, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"The exported blobs named by the event are not chunk {request.DocumentId}'s (their names do not carry its document id).");
        }

        // ACS writes a chunk's media and metadata side by side in one recording folder; an event naming blobs in two
        // folders (or containers) is not what ACS exported, whatever their names say.
        if (mediaBlob.Container != metadataBlob.Container || FolderOf(mediaBlob.BlobName) != FolderOf(metadataBlob.BlobName))
        {
            throw new InvalidDataException($"The exported media and metadata named for chunk {request.DocumentId} are not in the same folder of one container.");
        }

        var metadataJson = job.MetadataJson;
        if (job.Metadata is null)
        {
            var stream = await reader.OpenReadAsync(metadataBlob, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"The exported metadata of chunk {request.DocumentId} is not in container '{metadataBlob.Container}'.");
            byte[] json;
            await using (stream.ConfigureAwait(false))
            {
                if (stream.Length > MaxExportedMetadataBytes)
                {
                    throw new InvalidDataException($"The exported metadata of chunk {request.DocumentId} is {stream.Length} bytes, more than a metadata document can be ({MaxExportedMetadataBytes}).");
                }

                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                json = buffer.ToArray();
            }

            var metadata = RecordingMetadata.Parse(json);
            if (metadata.ChunkDocumentId is { } documentId && !documentId.Equals(request.DocumentId, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"The exported metadata document is for chunk {documentId}, not {request.DocumentId}.");
            }

            var path = RecordingLayout.MetadataPath(folder, request.Index);
            json = await WriteMetadataOnceAsync(path, json, request.DocumentId, cancellationToken).ConfigureAwait(false);
            metadataJson = Encoding.UTF8.GetString(json);
            await jobs.Transitions.RecordProgressAsync(
                lease,
                new ChunkProgress
                {
                    Metadata = new StoredObjectInfo(path, json.Length, Convert.ToHexStringLower(SHA256.HashData(json)), "application/json"),
                    MetadataJson = metadataJson,
                    Participants = [.. RecordingMetadata.Parse(json).Participants.Select(p => p.ParticipantId).Where(p => p.Length > 0 && Events.StoredText.Problem("a participant id", p, Events.StoredText.MaxIndexedLength) is null)],
                },
                cancellationToken).ConfigureAwait(false);
        }

        if (job.Media is null)
        {
            var format = request.Recording.FormatType ?? (metadataJson is null ? null : RecordingMetadata.Parse(Encoding.UTF8.GetBytes(metadataJson)).Format);
            var extension = RecordingLayout.ExtensionFor(format);
            if (extension != "bin" && !mediaBlob.BlobName.EndsWith("." + extension, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"The exported media of chunk {request.DocumentId} is not a {extension} file, as its metadata says it is.");
            }

            var stream = await reader.OpenReadAsync(mediaBlob, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"The exported media of chunk {request.DocumentId} is not in container '{mediaBlob.Container}'.");
            await using (stream.ConfigureAwait(false))
            {
                var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
                if (stream.Position == 0)
                {
                    // ACS has produced empty files before; an empty chunk is an export that went wrong, not a recording.
                    throw new InvalidDataException($"The exported media of chunk {request.DocumentId} is empty.");
                }

                await jobs.Transitions.RecordProgressAsync(
                    lease,
                    new ChunkProgress { Media = new StoredObjectInfo(mediaBlob.StorePath, stream.Position, sha256, MediaTypeFor(extension)) },
                    cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string MediaTypeFor(string extension) => extension switch
    {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    };

    /// <summary>Downloads the media into a resumable upload (continuing one an earlier attempt left) and commits it.</summary>
    /// <returns>What to record as the chunk's media.</returns>
    private async Task<StoredObjectInfo> DownloadMediaAsync(ChunkLease lease, string path, Uri contentLocation, IProgress<AcsDownloadProgress> progress, CancellationToken cancellationToken)
    {
        var upload = await store.OpenUploadAsync(path, cancellationToken).ConfigureAwait(false);
        await using (upload.ConfigureAwait(false))
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var hashedPrefix = upload.PersistedLength == 0 || upload.CanHashPersisted;
            if (upload.PersistedLength > 0 && upload.CanHashPersisted)
            {
                await upload.HashPersistedAsync(hash, cancellationToken).ConfigureAwait(false);
            }

            AcsDownloadResult result;
            using (var mediaActivity = StartStep(CallVaultTelemetry.Spans.Media, lease.Job.Request))
            {
                result = await acs.DownloadToAsync(
                    new AcsDownloadRequest(contentLocation) { ResumeOffset = upload.PersistedLength, Sha256 = hash },
                    upload.Content,
                    progress,
                    cancellationToken).ConfigureAwait(false);
                TagDownload(mediaActivity, result, upload.PersistedLength);
            }

            using (StartStep(CallVaultTelemetry.Spans.Store, lease.Job.Request))
            {
                await upload.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            Log.MediaDownloaded(logger, lease.DocumentId, result.Length - upload.PersistedLength, result.PeakConnections, result.FinalConnections);

            CrashPoint.Hit("worker.after-media-commit");
            metrics.BytesDownloaded.Add(result.Length - upload.PersistedLength);

            // A resumed upload whose prefix the store cannot read back is hashed whole once committed.
            var sha256 = hashedPrefix ? result.Sha256Hex : await HashStoredAsync(path, cancellationToken).ConfigureAwait(false);
            return new StoredObjectInfo(path, result.Length, sha256, result.ContentType);
        }
    }

    /// <summary>
    /// A crash between committing the media and recording it leaves the whole object in the store and none of it in the
    /// job. The stored object is adopted, rather than downloaded again, once one small tail request proves it is this
    /// chunk's bytes: ACS's size equals the stored length and ACS's last bytes equal the stored ones. Adopting another
    /// chunk's object (an event that maps a different document to this path) would later delete this chunk from ACS
    /// unread, so without that proof nothing is adopted: a mismatch is left to the download, whose commit refuses it.
    /// </summary>
    /// <returns>What to record as the chunk's media, or null when there is nothing stored or it is not proven.</returns>
    private async Task<StoredObjectInfo?> TryAdoptStoredMediaAsync(string path, Uri contentLocation, string documentId, CancellationToken cancellationToken)
    {
        var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            var storedLength = stream.Length;
            AcsObjectTail? tail;
            try
            {
                tail = await acs.GetTailAsync(contentLocation, AcsRecordingClient.DefaultTailBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (AcsRequestException ex) when (ex.Status == 404)
            {
                // Gone from ACS: nothing proves the stored copy is this chunk's, and it is the only copy left.
                throw ex.WithNote($"A stored copy at {path} ({storedLength} bytes) was not adopted because ACS no longer has the object to prove it is this chunk's bytes; it needs a look.");
            }

            if (tail is null || tail.Length != storedLength || tail.Tail.Length > storedLength)
            {
                Log.StoredMediaNotAdopted(logger, documentId, path, storedLength, tail?.Length);
                return null;
            }

            var storedTail = new byte[tail.Tail.Length];
            stream.Position = storedLength - storedTail.Length;
            await stream.ReadExactlyAsync(storedTail, cancellationToken).ConfigureAwait(false);
            if (!storedTail.AsSpan().SequenceEqual(tail.Tail))
            {
                Log.StoredMediaNotAdopted(logger, documentId, path, storedLength, tail.Length);
                return null;
            }

            stream.Position = 0;
            var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            Log.AdoptedStoredMedia(logger, documentId, path, storedLength);
            return new StoredObjectInfo(path, storedLength, sha256, tail.ContentType);
        }
    }

    /// <summary>
    /// Stores a chunk's metadata document unless the same chunk's document is already there, and returns the bytes that
    /// are stored. A retry adopts a stored document that names its chunk without fetching; one that names no chunk is
    /// fetched again, and should ACS serve other bytes the second time (the same chunk, reformatted), the stored one
    /// is kept rather than dead-lettering the chunk. A document of another chunk at this path is a real conflict and is refused.
    /// </summary>
    private async Task<byte[]> WriteMetadataOnceAsync(string path, byte[] json, string documentId, CancellationToken cancellationToken)
    {
        try
        {
            await store.WriteOnceAsync(path, json, cancellationToken).ConfigureAwait(false);
            return json;
        }
        catch (StoredObjectConflictException)
        {
            var stored = await ReadStoredAsync(path, cancellationToken).ConfigureAwait(false);
            if (stored is not null && IsMetadataOf(stored, documentId))
            {
                Log.KeptStoredMetadata(logger, documentId, path);
                return stored;
            }

            throw;
        }
    }

    /// <summary>
    /// The metadata document an earlier attempt stored for this chunk, made durable again, or null when there is none or
    /// it is not proven to be this chunk's. A stored document is whole (it is written to a synced temporary file and
    /// linked into place) and it names its chunk: one that names this chunk's document id is the document ACS served
    /// for it. One that names no chunk, or another, is not taken; the document is fetched and the write decides.
    /// </summary>
    private async Task<byte[]?> TryAdoptStoredMetadataAsync(string path, string documentId, CancellationToken cancellationToken)
    {
        var stored = await ReadStoredAsync(path, cancellationToken).ConfigureAwait(false);
        if (stored is null || !IsMetadataOf(stored, documentId))
        {
            return null;
        }

        // A kill between linking the document and syncing its folder leaves a link that a power cut could still lose:
        // writing the same bytes once more finds them stored and syncs the folder, before anything records them.
        await store.WriteOnceAsync(path, stored, cancellationToken).ConfigureAwait(false);
        Log.AdoptedStoredMetadata(logger, documentId, path);
        return stored;
    }

    private static bool IsMetadataOf(byte[] json, string documentId)
    {
        try
        {
            return RecordingMetadata.Parse(json).ChunkDocumentId is { } id && id.Equals(documentId, StringComparison.Ordinal);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private async Task<byte[]?> ReadStoredAsync(string path, CancellationToken cancellationToken)
    {
        var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            // A metadata document is small; the cap keeps a hostile object at this path from filling memory.
            const int MaxMetadataBytes = 16 * 1024 * 1024;
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxMetadataBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    private async Task<string> HashStoredAsync(string path, CancellationToken cancellationToken)
    {
        var stream = await store.OpenReadAsync(path, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException($"'{path}' is not in the store right after it was committed.");
        await using (stream.ConfigureAwait(false))
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }
    }

    private (Uri Content, Uri Metadata) Locations(ChunkRequest request)
    {
        if (request.ContentLocation is { } content && request.MetadataLocation is { } metadata)
        {
            return (content, metadata);
        }

        // A 2021-preview event carries only the document id; the routes are on the ACS endpoint.
        var endpoint = AcsConnectionString.Parse(acsOptions.CurrentValue.ConnectionString).Endpoint;
        return (AcsRecordingClient.GetPreviewContentLocation(endpoint, request.DocumentId), AcsRecordingClient.GetPreviewMetadataLocation(endpoint, request.DocumentId));
    }

    private async Task FailAsync(ChunkLease lease, Exception error)
    {
        var worker = options.CurrentValue.Worker;
        var attempts = lease.Job.Attempts;
        var permanent = IsPermanent(error);
        DateTimeOffset? retryAt = null;
        if (!permanent && attempts < worker.MaxAttempts)
        {
            var exponent = Math.Min(attempts - 1, 20);
            var delay = TimeSpan.FromTicks(Math.Min(worker.RetryMaxDelay.Ticks, worker.RetryBaseDelay.Ticks * (1L << Math.Max(0, exponent))));
            var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
            retryAt = timeProvider.GetUtcNow() + (delay * jitter);
        }

        var reason = Describe(error);

        // Recorded before it is reported: a lease the store says is gone means this attempt's outcome is not this
        // worker's to report. That includes a completing commit that went through although its answer was lost (a
        // connection dropped during COMMIT): the chunk is stored, and counting it as failed, or logging it as
        // dead-lettered on its last attempt, would be false.
        try
        {
            await jobs.Transitions.FailAsync(lease, reason, retryAt, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LeaseLostException)
        {
            Log.LeaseLost(logger, lease.DocumentId);
            return;
        }
        catch (Exception ex)
        {
            Log.BookkeepingFailed(logger, ex);
        }

        metrics.DownloadFailures.Add(1, new KeyValuePair<string, object?>("outcome", retryAt is null ? "dead_letter" : "retry"));
        if (retryAt is null)
        {
            Log.DeadLettered(logger, lease.DocumentId, attempts, reason);
        }
        else
        {
            Log.WillRetry(logger, lease.DocumentId, attempts, retryAt.Value, reason);
        }
    }

    /// <summary>Failures that no retry can cure: the recording is gone, or CallVault refuses the URL.</summary>
    private static bool IsPermanent(Exception error) => error switch
    {
        AcsRequestException { Status: 404 } => true,
        AcsHostNotAllowedException => true,
        ArgumentException => true,
        InvalidDataException => true,
        StoredObjectConflictException => true,
        _ => false,
    };

    private static string Describe(Exception error) => error switch
    {
        AcsRequestException or AcsHostNotAllowedException or AcsContentException or AcsStallTimeoutException or InvalidDataException or StoredObjectConflictException => error.Message,
        HttpRequestException http => $"Network error: {http.Message}",
        AcsNotConfiguredException => error.Message,
        _ => $"{error.GetType().Name}: {error.Message}",
    };

    private async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.BookkeepingFailed(logger, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Stored chunk {DocumentId} (index {Index})")]
        public static partial void Stored(ILogger logger, string documentId, long index);

        [LoggerMessage(2, LogLevel.Warning, "Chunk {DocumentId} failed (attempt {Attempt}); retrying at {RetryAt}: {Reason}")]
        public static partial void WillRetry(ILogger logger, string documentId, int attempt, DateTimeOffset retryAt, string reason);

        [LoggerMessage(3, LogLevel.Error, "Chunk {DocumentId} dead-lettered after {Attempts} attempt(s): {Reason}")]
        public static partial void DeadLettered(ILogger logger, string documentId, int attempts, string reason);

        [LoggerMessage(4, LogLevel.Warning, "Lost the lease on chunk {DocumentId}; another worker has it")]
        public static partial void LeaseLost(ILogger logger, string documentId);

        [LoggerMessage(5, LogLevel.Error, "Could not lease a chunk")]
        public static partial void LeaseFailed(ILogger logger, Exception exception);

        [LoggerMessage(6, LogLevel.Warning, "Chunk {DocumentId} is stored but not deleted from ACS: its delete location names {Named}, not this chunk")]
        public static partial void DeleteRefused(ILogger logger, string documentId, string named);

        [LoggerMessage(8, LogLevel.Information, "Chunk {DocumentId}: kept the metadata document already stored at {Path} for this chunk (ACS served other bytes this time)")]
        public static partial void KeptStoredMetadata(ILogger logger, string documentId, string path);

        [LoggerMessage(9, LogLevel.Information, "Chunk {DocumentId}: adopted the media already stored at {Path} ({Length} bytes; ACS's size and last bytes match) instead of downloading it again")]
        public static partial void AdoptedStoredMedia(ILogger logger, string documentId, string path, long length);

        [LoggerMessage(10, LogLevel.Warning, "Chunk {DocumentId}: the object stored at {Path} ({StoredLength} bytes) is not proven to be this chunk (ACS says {AcsLength} bytes, or its last bytes differ); downloading instead")]
        public static partial void StoredMediaNotAdopted(ILogger logger, string documentId, string path, long storedLength, long? acsLength);

        [LoggerMessage(11, LogLevel.Information, "Chunk {DocumentId}: adopted the metadata document an earlier attempt stored at {Path} instead of fetching it again")]
        public static partial void AdoptedStoredMetadata(ILogger logger, string documentId, string path);

        [LoggerMessage(12, LogLevel.Information, "Chunk {DocumentId}: downloaded {Bytes} media bytes over {PeakConnections} connection(s) at most, {FinalConnections} at the end")]
        public static partial void MediaDownloaded(ILogger logger, string documentId, long bytes, int peakConnections, int finalConnections);

        [LoggerMessage(7, LogLevel.Error, "Could not record a job's outcome")]
        public static partial void BookkeepingFailed(ILogger logger, Exception exception);
    }

    private static string FolderOf(string blobName) => blobName.LastIndexOf('/') is var slash and >= 0 ? blobName[..slash] : string.Empty;
}

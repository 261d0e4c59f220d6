using System.Diagnostics;

namespace CallVault.Diagnostics;

/// <summary>
/// CallVault's traces: one <see cref="ActivitySource"/> named <c>CallVault</c>, the span names along a recording's
/// path, and the attribute names they carry. Attributes hold ids only, never secrets or URLs (signed URLs carry tokens).
/// </summary>
public static class CallVaultTelemetry
{
    /// <summary>The activity source's name: <c>CallVault</c>.</summary>
    public const string ActivitySourceName = "CallVault";

    /// <summary>The source every CallVault span starts from; starting a span costs nothing while nobody listens.</summary>
    public static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>Span names, in the order a chunk meets them.</summary>
    public static class Spans
    {
        /// <summary>A webhook delivery's events are committed to the durable queue (the delivery waits for it).</summary>
        public const string Enqueue = "callvault.enqueue";

        /// <summary>A worker leased the chunk from the queue.</summary>
        public const string Lease = "callvault.lease";

        /// <summary>The whole of one attempt on a chunk: the parent of the steps below.</summary>
        public const string Chunk = "callvault.chunk";

        /// <summary>The metadata document is downloaded and stored.</summary>
        public const string Metadata = "callvault.metadata";

        /// <summary>The media is downloaded (ranged, resumable) into the store's upload.</summary>
        public const string Media = "callvault.media";

        /// <summary>The downloaded media is committed in the store.</summary>
        public const string Store = "callvault.store";

        /// <summary>The recording's manifest is written.</summary>
        public const string Manifest = "callvault.manifest";

        /// <summary>The chunk is deleted from ACS after it is stored.</summary>
        public const string DeleteFromAcs = "callvault.acs.delete";
    }

    /// <summary>Attribute names.</summary>
    public static class Attributes
    {
        /// <summary>The call id from the event's subject.</summary>
        public const string CallId = "callvault.call_id";

        /// <summary>The recording id from the event's subject.</summary>
        public const string RecordingId = "callvault.recording_id";

        /// <summary>The recording's grouping key (recording id, else server call id, else call id).</summary>
        public const string RecordingKey = "callvault.recording_key";

        /// <summary>The chunk's ACS document id.</summary>
        public const string DocumentId = "callvault.document_id";

        /// <summary>The chunk's position in its recording, from 0.</summary>
        public const string ChunkIndex = "callvault.chunk_index";

        /// <summary>How many events a delivery carried.</summary>
        public const string Events = "callvault.events";

        /// <summary>How many chunks a delivery carried.</summary>
        public const string Chunks = "callvault.chunks";

        /// <summary>How many of a delivery's chunks were new.</summary>
        public const string NewChunks = "callvault.new_chunks";

        /// <summary>The attempt on the chunk, from 1.</summary>
        public const string Attempt = "callvault.attempt";

        /// <summary>Bytes transferred (media: this attempt's bytes; metadata: the document's length).</summary>
        public const string Bytes = "callvault.download.bytes";

        /// <summary>Where the media download resumed from, in bytes.</summary>
        public const string ResumeOffset = "callvault.download.resume_offset";

        /// <summary>HTTP requests the media download sent, retries included.</summary>
        public const string Requests = "callvault.download.requests";

        /// <summary>Times the media changed under the download and it started again from byte 0.</summary>
        public const string Restarts = "callvault.download.restarts";

        /// <summary>
        /// The most parallel connections the media download could use: <c>CallVault:Acs:Download:ParallelConnections</c>
        /// when fixed, else the adaptive count's cap <c>MaxConnections</c>.
        /// </summary>
        public const string ConnectionsMax = "callvault.download.connections_max";

        /// <summary>The most connections the media download had open at once (the adaptive count's peak).</summary>
        public const string ConnectionsPeak = "callvault.download.connections_peak";

        /// <summary>The connections the media download had open when it ended.</summary>
        public const string ConnectionsFinal = "callvault.download.connections_final";
    }

    /// <summary>
    /// The W3C <c>traceparent</c> of <paramref name="activity"/>, to persist with work that continues later (another
    /// process, after a restart); null when there is no activity or its id is not in W3C format.
    /// </summary>
    public static string? TraceParentOf(Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;

    /// <summary>
    /// The parent context a persisted <c>traceparent</c> names; default (a new trace) when there is none or it does not parse.
    /// </summary>
    public static ActivityContext ParentFrom(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, traceState: null, isRemote: true, out var context) ? context : default;

    /// <summary>Sets the chunk's ids on <paramref name="activity"/> (nothing when it is null).</summary>
    public static Activity? WithChunk(this Activity? activity, Jobs.ChunkRequest chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Attributes.DocumentId, chunk.DocumentId);
            activity.SetTag(Attributes.ChunkIndex, chunk.Index);
            activity.SetTag(Attributes.RecordingKey, chunk.Recording.Key);
            activity.SetTag(Attributes.RecordingId, chunk.Recording.RecordingId);
            activity.SetTag(Attributes.CallId, chunk.Recording.CallId);
        }

        return activity;
    }
}

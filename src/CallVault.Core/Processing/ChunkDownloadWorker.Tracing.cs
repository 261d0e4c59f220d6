using System.Diagnostics;
using CallVault.Acs.Downloads;
using CallVault.Diagnostics;
using CallVault.Jobs;

namespace CallVault.Processing;

/// <summary>The worker's spans: each chunk's attempt continues the trace of the delivery that enqueued it.</summary>
public sealed partial class ChunkDownloadWorker
{
    /// <summary>
    /// Records the lease (from <paramref name="leaseStarted"/> until now) and starts the attempt's span, both children
    /// of the enqueueing span whose traceparent was stored with the chunk; a chunk without one starts a trace of its own.
    /// </summary>
    /// <returns>The attempt's span, current until disposed; null when nobody listens.</returns>
    private static Activity? StartChunkActivity(ChunkLease lease, DateTimeOffset leaseStarted)
    {
        var parent = CallVaultTelemetry.ParentFrom(lease.Job.Request.TraceParent);
        using (var leased = CallVaultTelemetry.Source.StartActivity(CallVaultTelemetry.Spans.Lease, ActivityKind.Internal, parent, startTime: leaseStarted))
        {
            leased.WithChunk(lease.Job.Request)?.SetTag(CallVaultTelemetry.Attributes.Attempt, lease.Job.Attempts);
        }

        var activity = CallVaultTelemetry.Source.StartActivity(CallVaultTelemetry.Spans.Chunk, ActivityKind.Internal, parent);
        return activity.WithChunk(lease.Job.Request)?.SetTag(CallVaultTelemetry.Attributes.Attempt, lease.Job.Attempts);
    }

    /// <summary>Starts one step of the attempt, a child of the attempt's span.</summary>
    private static Activity? StartStep(string name, ChunkRequest request) =>
        CallVaultTelemetry.Source.StartActivity(name).WithChunk(request);

    /// <summary>What the media download did: bytes received, requests and restarts, and the connections it used and could use.</summary>
    private void TagDownload(Activity? activity, AcsDownloadResult result, long resumeOffset)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(CallVaultTelemetry.Attributes.Bytes, result.BytesReceived);
            activity.SetTag(CallVaultTelemetry.Attributes.ResumeOffset, resumeOffset);
            activity.SetTag(CallVaultTelemetry.Attributes.Requests, result.Requests);
            activity.SetTag(CallVaultTelemetry.Attributes.Restarts, result.Restarts);
            var download = acsOptions.CurrentValue.Download;
            activity.SetTag(CallVaultTelemetry.Attributes.ConnectionsMax, download.ParallelConnections ?? download.MaxConnections);
            activity.SetTag(CallVaultTelemetry.Attributes.ConnectionsPeak, result.PeakConnections);
            activity.SetTag(CallVaultTelemetry.Attributes.ConnectionsFinal, result.FinalConnections);
        }
    }

    /// <summary>Marks the attempt's span failed, naming the kind of failure only (messages may quote URLs).</summary>
    private static void TagFailure(Activity? activity, Exception error) =>
        activity?.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
}

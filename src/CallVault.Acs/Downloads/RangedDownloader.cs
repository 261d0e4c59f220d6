using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using CallVault.Acs.Errors;
using CallVault.Acs.Internal;
using Microsoft.Extensions.Logging;
using Polly;

namespace CallVault.Acs.Downloads;

/// <summary>
/// Fetches one object into a stream: the facade over <see cref="PartScheduler"/> (how many ranges run, written in
/// order) and <see cref="RangeBody"/> (one range: request, checks, resuming), which also restarts an object that
/// changed under the download. Every byte that reaches the destination is a byte of the object at its
/// offset, so the destination always holds a prefix of the object and a later attempt can resume from its length.
/// A download is complete only when the service has said the object's size and that many bytes are stored; a body
/// that merely ends is not proof of the end. A failed write to the destination is not retried here: it is the
/// caller's failure (a full disk, a failed fsync), and the caller resumes from what the destination persisted.
/// </summary>
internal sealed class RangedDownloader(
    HttpClient httpClient,
    ResiliencePipeline retry,
    bool resumeAtOnceAfterProgress,
    TimeProvider timeProvider,
    ILogger logger,
    DownloadConnectionCounter? connections = null,
    PartBufferPool? partBuffers = null)
{
    private const int MaxRestarts = 2;

    public async Task<AcsDownloadResult> DownloadAsync(
        AcsDownloadRequest request,
        AcsDownloadOptions options,
        Stream destination,
        IProgress<AcsDownloadProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegative(request.ResumeOffset);

        var ownsHash = request.Sha256 is null;
        var hash = request.Sha256 ?? IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            var state = new DownloadState(request, options, destination, hash, progress, connections);
            var finalConnections = 1;
            try
            {
                await DownloadWithRestartsAsync(state, s => finalConnections = s.FinalTarget, cancellationToken).ConfigureAwait(false);
            }
            catch (DestinationWriteException ex)
            {
                // The caller's own stream failed: it gets its own exception, not one that looks like a network failure.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException!);
            }

            var result = new AcsDownloadResult
            {
                Length = state.Offset,
                Sha256 = hash.GetCurrentHash(),
                ETag = state.ETag,
                ContentType = state.ContentType,
                BytesReceived = state.BytesReceived,
                Requests = state.Requests,
                Restarts = state.Restarts,
                PeakConnections = state.PeakConnections,
                FinalConnections = Math.Min(finalConnections, state.PeakConnections),
            };
            Log.Downloaded(logger, request.Location.GetLeftPart(UriPartial.Path), result.Length, result.Requests, result.PeakConnections, result.FinalConnections, result.Sha256Hex);
            return result;
        }
        finally
        {
            if (ownsHash)
            {
                hash.Dispose();
            }
        }
    }

    /// <summary>
    /// Asks for the object's last <paramref name="maxBytes"/> bytes with one suffix range (<c>Range: bytes=-n</c>), whose
    /// 206 also says the object's size, retrying transient failures. Returns null when the answer cannot say both (a
    /// range ignored on a larger object, a 416, a size left unsaid): the caller then proves nothing from it. Never reads
    /// more than <paramref name="maxBytes"/> bytes of a body.
    /// </summary>
    /// <exception cref="AcsRequestException">ACS answered with an error (a 404 included) that retries did not cure.</exception>
    public async Task<AcsObjectTail?> FetchTailAsync(Uri location, int maxBytes, TimeSpan stallTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        return await retry.ExecuteAsync(
            static (s, ct) => s.Downloader.FetchTailAttemptAsync(s.Location, s.MaxBytes, s.StallTimeout, ct),
            (Downloader: this, Location: location, MaxBytes: maxBytes, StallTimeout: stallTimeout),
            cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<AcsObjectTail?> FetchTailAttemptAsync(Uri location, int maxBytes, TimeSpan stallTimeout, CancellationToken cancellationToken)
    {
        using var guard = new StallGuard(stallTimeout, timeProvider, cancellationToken);
        using var message = new HttpRequestMessage(HttpMethod.Get, location);
        message.Headers.Range = new RangeHeaderValue(null, maxBytes);
        HttpResponseMessage response;
        try
        {
            response = await httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, guard.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (guard.HasFired && !cancellationToken.IsCancellationRequested)
        {
            throw new AcsStallTimeoutException($"No response within {stallTimeout.TotalSeconds:0.#} s.");
        }

        using (response)
        {
            long length;
            int count;
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent:
                    // Only a range that ends at the object's stated end is a tail; anything else proves nothing.
                    if (response.Content.Headers.ContentRange is not { HasRange: true, From: { } from, To: { } to, Length: { } total }
                        || to != total - 1 || from > to || to - from + 1 > maxBytes)
                    {
                        return null;
                    }

                    length = total;
                    count = (int)(to - from + 1);
                    break;
                case HttpStatusCode.OK:
                    // The range was ignored: the whole object is the tail only when it is small enough to read.
                    if (response.Content.Headers.ContentLength is not { } whole || whole > maxBytes)
                    {
                        return null;
                    }

                    length = whole;
                    count = (int)whole;
                    break;
                case HttpStatusCode.RequestedRangeNotSatisfiable:
                    return null;
                default:
                    throw new AcsRequestException(await AcsErrorResponse.ReadAsync(response, timeProvider, cancellationToken).ConfigureAwait(false));
            }

            var tail = new byte[count];
            var filled = 0;
            var body = await response.Content.ReadAsStreamAsync(guard.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                int read;
                while (filled < count && (read = await ReadAsync(body, tail.AsMemory(filled), guard, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                }
            }

            if (filled < count)
            {
                throw new AcsContentException(AcsContentProblem.Truncated, $"The tail of the object ended after {filled} of {count} bytes.");
            }

            return new AcsObjectTail(length, tail, response.Content.Headers.ContentType?.MediaType);
        }
    }

    private async Task DownloadWithRestartsAsync(DownloadState state, Action<PartScheduler> ran, CancellationToken cancellationToken)
    {
        var transport = new RangeTransport(httpClient, retry, resumeAtOnceAfterProgress, timeProvider, logger);
        var options = state.Options;

        // An object whose end the caller proves from its content (a small JSON document) is fetched over one
        // connection: parts need a size, and such an object may come without one.
        var max = state.Request.AllowUnknownLength ? 1 : options.ParallelConnections ?? options.MaxConnections;
        var adaptive = options.ParallelConnections is null && max > 1;

        // Without a shared pool, this download's own bound: max parts of PartSizeBytes.
        var buffers = partBuffers ?? new PartBufferPool(max * options.PartSizeBytes);
        while (true)
        {
            var scheduler = new PartScheduler(transport, state, max, adaptive, buffers);
            try
            {
                await scheduler.RunAsync(cancellationToken).ConfigureAwait(false);
                ran(scheduler);
                return;
            }
            catch (AcsContentException ex) when (ex.Problem == AcsContentProblem.Changed && state.Restarts < MaxRestarts && state.CanRestart)
            {
                Log.RestartingChangedObject(logger, state.Request.Location.GetLeftPart(UriPartial.Path));
                state.Restart();
            }
        }
    }

    private static async ValueTask<int> ReadAsync(Stream body, Memory<byte> buffer, StallGuard guard, CancellationToken cancellationToken) =>
        await RangeBody.ReadAsync(body, buffer, guard, cancellationToken).ConfigureAwait(false);
}

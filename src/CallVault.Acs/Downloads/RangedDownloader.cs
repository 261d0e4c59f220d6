using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Threading.Channels;
using CallVault.Acs.Errors;
using CallVault.Acs.Internal;
using Microsoft.Extensions.Logging;
using Polly;

namespace CallVault.Acs.Downloads;

/// <summary>
/// Fetches one object into a stream: a single GET resumed with <c>Range</c> after each failure, or ranged parts over
/// several connections written in order. Every byte that reaches the destination is a byte of the object at its
/// offset, so the destination always holds a prefix of the object and a later attempt can resume from its length.
/// A download is complete only when the service has said the object's size and that many bytes are stored; a body
/// that merely ends is not proof of the end. A failed write to the destination is not retried here: it is the
/// caller's failure (a full disk, a failed fsync), and the caller resumes from what the destination persisted.
/// </summary>
internal sealed class RangedDownloader(HttpClient httpClient, ResiliencePipeline retry, bool resumeAtOnceAfterProgress, TimeProvider timeProvider, ILogger logger)
{
    private const int MaxRestarts = 2;
    private const int PipelineDepth = 4;

    /// <summary>Progress, in bytes, after which a dropped connection is resumed at once rather than after a back-off.</summary>
    private const long ImmediateResumeBytes = 256 * 1024;

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
            var state = new DownloadState(request, options, destination, hash, progress);
            try
            {
                await DownloadWithRestartsAsync(state, cancellationToken).ConfigureAwait(false);
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
            };
            Log.Downloaded(logger, request.Location.GetLeftPart(UriPartial.Path), result.Length, result.Requests, result.Sha256Hex);
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

    private async Task DownloadWithRestartsAsync(DownloadState state, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                // An object whose end the caller proves from its content (a small JSON document) is fetched over one
                // connection: parts need a size, and such an object may come without one.
                if (state.Options.ParallelConnections > 1 && !state.Request.AllowUnknownLength)
                {
                    await DownloadInPartsAsync(state, cancellationToken).ConfigureAwait(false);
                }

                // The single-stream download, and in parallel mode whatever the parts could not cover: nothing when the
                // parts reached the announced size, the rest over one connection when no answer said the size.
                await retry.ExecuteAsync(
                    static (s, ct) => s.Downloader.ResumingAfterProgressAsync(
                        static (s, ct) => s.Downloader.FetchRestAsync(s.State, ct),
                        s,
                        static s => s.State.Offset,
                        ct),
                    (Downloader: this, State: state),
                    cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (AcsContentException ex) when (ex.Problem == AcsContentProblem.Changed && state.Restarts < MaxRestarts && state.CanRestart)
            {
                Log.RestartingChangedObject(logger, state.Request.Location.GetLeftPart(UriPartial.Path));
                state.Restart();
            }
        }
    }

    /// <summary>
    /// Streams from the current offset until the object's size is known and reached. A body that ends without the
    /// size having been said (a chunked 200, a 206 with <c>bytes a-b/*</c>) is followed by a range from where it
    /// ended: more bytes continue the object, a 416 that states the size confirms the end. A request that brings
    /// neither bytes nor the size ends the download with <see cref="AcsContentProblem.UnknownLength"/>.
    /// </summary>
    private async ValueTask<bool> FetchRestAsync(DownloadState state, CancellationToken cancellationToken)
    {
        while (!state.IsComplete)
        {
            var before = state.Offset;
            await FetchToDestinationAsync(state, lastByte: null, cancellationToken).ConfigureAwait(false);
            if (state.Total is null && state.Request.AllowUnknownLength)
            {
                // The caller proves the end from the content itself (a JSON document that parses).
                state.ObserveTotal(state.Offset);
            }

            if (!state.IsComplete && state.Offset == before)
            {
                throw new AcsContentException(
                    AcsContentProblem.UnknownLength,
                    $"The service did not say the object's size and sent nothing after byte {state.Offset}; the download cannot be told apart from a truncated one, so it is not reported complete.");
            }
        }

        return true;
    }

    /// <summary>
    /// Parallel mode: the first part (which also tells the size) streams straight into the destination; the rest are
    /// fetched into pooled buffers, at most <c>ParallelConnections</c> at a time, and written strictly in order. When
    /// the first answer does not say the size, nothing can be split and the caller fetches the rest as one stream.
    /// </summary>
    private async Task DownloadInPartsAsync(DownloadState state, CancellationToken cancellationToken)
    {
        var options = state.Options;
        var firstLast = state.Offset + options.PartSizeBytes - 1;
        var rangeHonoured = await retry.ExecuteAsync(
            static (s, ct) => s.Downloader.FetchToDestinationAsync(s.State, s.Last, ct),
            (Downloader: this, State: state, Last: firstLast),
            cancellationToken).ConfigureAwait(false);
        if (!rangeHonoured || state.Total is not { } total || state.Offset >= total)
        {
            return;
        }

        var partSize = (int)Math.Min(options.PartSizeBytes, total - state.Offset);
        var pool = ArrayPool<byte>.Create(partSize, options.ParallelConnections + 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var inFlight = new Queue<Task<PartBuffer>>();
        try
        {
            foreach (var range in ByteRange.Partition(state.Offset, total, partSize))
            {
                if (inFlight.Count >= options.ParallelConnections)
                {
                    await WriteNextPartAsync(state, inFlight, pool, cancellationToken).ConfigureAwait(false);
                }

                inFlight.Enqueue(FetchPartAsync(state, range, pool, stop.Token));
            }

            while (inFlight.Count > 0)
            {
                await WriteNextPartAsync(state, inFlight, pool, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var pending in inFlight)
            {
                try
                {
                    pool.Return((await pending.ConfigureAwait(false)).Buffer);
                }
                catch (Exception)
                {
                    // The first failure is the one reported; the others were cancelled by it.
                }
            }

            throw;
        }
    }

    private static async Task WriteNextPartAsync(DownloadState state, Queue<Task<PartBuffer>> inFlight, ArrayPool<byte> pool, CancellationToken cancellationToken)
    {
        var part = await inFlight.Dequeue().ConfigureAwait(false);
        try
        {
            await state.WriteAsync(part.Buffer.AsMemory(0, part.Length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            pool.Return(part.Buffer);
        }
    }

    private async Task<PartBuffer> FetchPartAsync(DownloadState state, ByteRange range, ArrayPool<byte> pool, CancellationToken cancellationToken)
    {
        // Yield first so that queueing a part never runs its network code on the writer's path.
        await Task.Yield();
        var buffer = pool.Rent((int)range.Length);
        var part = new PartFill(range, buffer);
        try
        {
            await retry.ExecuteAsync(
                static (s, ct) => s.Downloader.ResumingAfterProgressAsync(
                    static async (s, ct) =>
                    {
                        await s.Downloader.FetchPartAttemptAsync(s.State, s.Part, ct).ConfigureAwait(false);
                        return true;
                    },
                    s,
                    static s => s.Part.Filled,
                    ct),
                (Downloader: this, State: state, Part: part),
                cancellationToken).ConfigureAwait(false);
            return new PartBuffer(buffer, (int)range.Length);
        }
        catch
        {
            pool.Return(buffer);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="attempt"/>, and again at once after a transient failure that came after at least
    /// <see cref="ImmediateResumeBytes"/> new bytes: a connection that delivered data and then dropped is resumed
    /// straight away and does not use up the retry budget. A failure without that progress goes to the retry pipeline,
    /// which backs off, so a server that fails at once is not hammered.
    /// </summary>
    private async ValueTask<T> ResumingAfterProgressAsync<T, TState>(Func<TState, CancellationToken, ValueTask<T>> attempt, TState state, Func<TState, long> position, CancellationToken cancellationToken)
    {
        while (true)
        {
            var before = position(state);
            try
            {
                return await attempt(state, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (resumeAtOnceAfterProgress && !cancellationToken.IsCancellationRequested
                && AcsTransientErrors.IsTransient(ex) && position(state) - before >= ImmediateResumeBytes)
            {
                Log.ResumingAtOnce(logger, position(state), ex.Message);
            }
        }
    }

    /// <summary>One attempt at a part: asks for the bytes not yet in the buffer and appends them.</summary>
    private async ValueTask FetchPartAttemptAsync(DownloadState state, PartFill part, CancellationToken cancellationToken)
    {
        var first = part.Range.First + part.Filled;
        using var guard = new StallGuard(state.Options.StallTimeout, timeProvider, cancellationToken);
        using var response = await SendAsync(state, first, part.Range.Last, guard, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.PartialContent)
        {
            await ThrowForUnexpectedAsync(response, state, cancellationToken).ConfigureAwait(false);
        }

        CheckContentRange(response, state, first);
        var body = await response.Content.ReadAsStreamAsync(guard.Token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            while (part.Filled < part.Range.Length)
            {
                var read = await ReadAsync(body, part.Buffer.AsMemory(part.Filled, (int)(part.Range.Length - part.Filled)), guard, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                part.Filled += read;
                state.AddReceived(read);
            }
        }

        if (part.Filled < part.Range.Length)
        {
            throw new AcsContentException(
                AcsContentProblem.Truncated,
                $"The body for {part.Range} ended after {part.Filled} of {part.Range.Length} bytes.");
        }
    }

    /// <summary>
    /// One attempt to stream from the current offset (up to <paramref name="lastByte"/>, or the end) into the
    /// destination. Returns false when the server ignored the range and sent the whole object, which is then complete.
    /// </summary>
    private async ValueTask<bool> FetchToDestinationAsync(DownloadState state, long? lastByte, CancellationToken cancellationToken)
    {
        var first = state.Offset;
        if (state.IsComplete)
        {
            return true;
        }

        using var guard = new StallGuard(state.Options.StallTimeout, timeProvider, cancellationToken);
        var askRange = first > 0 || lastByte is not null;
        using var response = await SendAsync(state, first, lastByte, guard, cancellationToken, askRange).ConfigureAwait(false);
        var rangeHonoured = true;

        // Where this body must end: the end of the range a 206 describes, or the whole object's length of a 200.
        long? end;
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                RejectIfEmpty(response, state);
                if (first > 0)
                {
                    return AcceptWholeObjectAfterEnd(response, state, first);
                }

                state.ObserveTotal(response.Content.Headers.ContentLength);
                rangeHonoured = !askRange;
                end = state.Total;
                break;
            case HttpStatusCode.PartialContent:
                end = CheckContentRange(response, state, first);
                break;
            case HttpStatusCode.RequestedRangeNotSatisfiable when first > 0 && response.Content.Headers.ContentRange?.Length == first:
                // Everything was already stored by an earlier attempt.
                state.ObserveTotal(first);
                return true;
            case HttpStatusCode.RequestedRangeNotSatisfiable when first == 0:
                // An empty or tiny object refuses a probe range with 416; the .NET SDK then asks again without a
                // Range header, and so do we.
                return await FetchToDestinationAsync(state, lastByte: null, cancellationToken).ConfigureAwait(false);
            default:
                await ThrowForUnexpectedAsync(response, state, cancellationToken).ConfigureAwait(false);
                throw new System.Diagnostics.UnreachableException();
        }

        state.ObserveResponse(response);
        if (state.Total is { } total && end > total)
        {
            end = total;
        }

        var body = await response.Content.ReadAsStreamAsync(guard.Token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            // Bytes past the end a response announced are not the object's bytes at that offset: never stored.
            await CopyPipelinedAsync(body, state, end - first, guard, cancellationToken).ConfigureAwait(false);
        }

        if (end is { } expectedEnd && state.Offset < expectedEnd)
        {
            throw new AcsContentException(
                AcsContentProblem.Truncated,
                $"The body ended at byte {state.Offset} of {expectedEnd}; the rest is fetched again.");
        }

        if (state.Offset == 0 && state.Options.RejectEmptyContent)
        {
            throw new AcsContentException(AcsContentProblem.Empty, "The service sent an empty body for a recording object.");
        }

        return rangeHonoured;
    }

    /// <summary>
    /// A 200 to a range that starts after byte 0. When every byte up to <paramref name="first"/> is stored and the
    /// whole object's length is exactly that, the object is complete (a server that ignores ranges confirming the
    /// end); when no length is said, the end cannot be known; anything else means the object changed.
    /// </summary>
    private static bool AcceptWholeObjectAfterEnd(HttpResponseMessage response, DownloadState state, long first)
    {
        var length = response.Content.Headers.ContentLength;
        if (state.Total is null && length is null)
        {
            throw new AcsContentException(
                AcsContentProblem.UnknownLength,
                $"The service ignores ranges and does not say the object's size; {first} bytes were received and the download cannot be told apart from a truncated one, so it is not reported complete.");
        }

        if (length != first)
        {
            throw new AcsContentException(AcsContentProblem.Changed, $"Asked for the bytes from {first} on, the server sent the whole object ({length} bytes).");
        }

        state.ObserveTotal(length);
        state.ObserveResponse(response);
        return false;
    }

    /// <summary>
    /// Copies a body into the destination with the network reads on one task and the writes (with hashing) on
    /// another, joined by a channel of at most <see cref="PipelineDepth"/> buffers, so that receiving, hashing and
    /// writing overlap while memory stays bounded. When the read side fails, what was already read is still written
    /// before the failure is reported, so the next attempt resumes after it.
    /// </summary>
    private static async Task CopyPipelinedAsync(Stream body, DownloadState state, long? maxBytes, StallGuard guard, CancellationToken cancellationToken)
    {
        var size = state.Options.ReadBufferBytes;
        var channel = Channel.CreateBounded<(byte[] Buffer, int Count)>(
            new BoundedChannelOptions(PipelineDepth) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writing = WriteFromChannelAsync(state, channel.Reader, stopReading, cancellationToken);

        // Blocking reads on a dedicated thread, as curl does: far fewer wake-ups than asynchronous socket reads, which
        // matters at loopback speeds. A stall or a cancellation disposes the body, which ends a blocked read.
        using var abort = stopReading.Token.Register(static b => ((Stream)b!).Dispose(), body);
        using var abortOnStall = guard.Token.Register(static b => ((Stream)b!).Dispose(), body);
        var readFailure = await Task.Factory.StartNew(
            () => ReadIntoChannel(body, state, guard, channel.Writer, size, maxBytes ?? long.MaxValue, stopReading.Token, cancellationToken),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).ConfigureAwait(false);

        channel.Writer.Complete();
        await writing.ConfigureAwait(false);
        if (readFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(readFailure);
        }
    }

    private static Exception? ReadIntoChannel(Stream body, DownloadState state, StallGuard guard, ChannelWriter<(byte[] Buffer, int Count)> writer, int size, long maxBytes, CancellationToken stopReading, CancellationToken cancellationToken)
    {
        try
        {
            var remaining = maxBytes;
            while (remaining > 0)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(size);
                var wanted = (int)Math.Min(size, remaining);
                var filled = 0;
                try
                {
                    int read;
                    while (filled < wanted)
                    {
                        guard.Restart();
                        read = body.Read(buffer, filled, wanted - filled);
                        if (read == 0)
                        {
                            break;
                        }

                        filled += read;
                        state.AddReceived(read);
                    }
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or HttpRequestException)
                {
                    if (filled > 0)
                    {
                        Enqueue(writer, buffer, filled, cancellationToken);
                    }
                    else
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    if (guard.HasFired)
                    {
                        throw new AcsStallTimeoutException($"No bytes arrived for {guard.Timeout.TotalSeconds:0.#} s; resuming from the last byte received.");
                    }

                    stopReading.ThrowIfCancellationRequested();
                    throw;
                }

                if (filled == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return null;
                }

                Enqueue(writer, buffer, filled, stopReading);
                remaining -= filled;
                if (filled < wanted)
                {
                    return null;
                }
            }

            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }

        static void Enqueue(ChannelWriter<(byte[] Buffer, int Count)> writer, byte[] buffer, int count, CancellationToken cancellationToken)
        {
            if (!writer.TryWrite((buffer, count)))
            {
                writer.WriteAsync((buffer, count), cancellationToken).AsTask().GetAwaiter().GetResult();
            }
        }
    }

    private static async Task WriteFromChannelAsync(DownloadState state, ChannelReader<(byte[] Buffer, int Count)> reader, CancellationTokenSource stopReading, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (buffer, count) in reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                try
                {
                    await state.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch
        {
            // A failed write stops the reader; buffers still queued go back to the pool.
            await stopReading.CancelAsync().ConfigureAwait(false);
            while (reader.TryRead(out var pending))
            {
                ArrayPool<byte>.Shared.Return(pending.Buffer);
            }

            throw;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(
        DownloadState state,
        long first,
        long? last,
        StallGuard guard,
        CancellationToken cancellationToken,
        bool askRange = true)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, state.Request.Location);
        if (askRange)
        {
            message.Headers.Range = new RangeHeaderValue(first, last);
            if (state.ETag is { } etag)
            {
                message.Headers.IfRange = new RangeConditionHeaderValue(etag);
            }
        }

        state.CountRequest();
        try
        {
            return await httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, guard.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (guard.HasFired && !cancellationToken.IsCancellationRequested)
        {
            throw new AcsStallTimeoutException($"No response within {state.Options.StallTimeout.TotalSeconds:0.#} s.");
        }
    }

    private async Task ThrowForUnexpectedAsync(HttpResponseMessage response, DownloadState state, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.OK)
        {
            RejectIfEmpty(response, state);
            throw new AcsContentException(AcsContentProblem.Changed, "A range was asked for and the server sent the whole object: it changed or ignores ranges.");
        }

        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            throw new AcsContentException(AcsContentProblem.Changed, $"The server refused a range inside the object (size {response.Content.Headers.ContentRange?.Length}); it changed.");
        }

        throw new AcsRequestException(await AcsErrorResponse.ReadAsync(response, timeProvider, cancellationToken).ConfigureAwait(false));
    }

    private static void RejectIfEmpty(HttpResponseMessage response, DownloadState state)
    {
        if (state.Options.RejectEmptyContent && response.Content.Headers.ContentLength == 0)
        {
            throw new AcsContentException(AcsContentProblem.Empty, "The service answered 200 with an empty body for a recording object.");
        }
    }

    /// <summary>Checks that a 206 describes a range from <paramref name="first"/> and returns the offset just after its last byte.</summary>
    private static long CheckContentRange(HttpResponseMessage response, DownloadState state, long first)
    {
        var range = response.Content.Headers.ContentRange;
        if (range is not { HasRange: true, From: { } from, To: { } to } || from != first || to < from || to >= range.Length)
        {
            throw new AcsContentException(
                AcsContentProblem.InvalidContentRange,
                $"Asked for bytes from {first}, the 206 response says '{range}'.");
        }

        state.ObserveTotal(range.Length);
        state.ObserveResponse(response);
        return to + 1;
    }

    private static async ValueTask<int> ReadAsync(Stream body, Memory<byte> buffer, StallGuard guard, CancellationToken cancellationToken)
    {
        guard.Restart();
        try
        {
            return await body.ReadAsync(buffer, guard.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (guard.HasFired && !cancellationToken.IsCancellationRequested)
        {
            throw new AcsStallTimeoutException($"No bytes arrived for {guard.Timeout.TotalSeconds:0.#} s; resuming from the last byte received.");
        }
    }

    private readonly record struct PartBuffer(byte[] Buffer, int Length);

    private sealed class PartFill(ByteRange range, byte[] buffer)
    {
        public ByteRange Range { get; } = range;

        public byte[] Buffer { get; } = buffer;

        public int Filled { get; set; }
    }

    /// <summary>Where one download stands. Touched by part tasks only through the thread-safe counters.</summary>
    private sealed class DownloadState(
        AcsDownloadRequest request,
        AcsDownloadOptions options,
        Stream destination,
        IncrementalHash hash,
        IProgress<AcsDownloadProgress>? progress)
    {
        private const long ProgressStepBytes = 1024 * 1024;
        private readonly Lock _observeLock = new();
        private readonly long _objectStartPosition = destination.CanSeek ? destination.Position - request.ResumeOffset : -1;
        private long _bytesReceived;
        private int _requests;
        private long _lastReported = -1;

        public AcsDownloadRequest Request { get; } = request;

        public AcsDownloadOptions Options { get; } = options;

        public long Offset { get; private set; } = request.ResumeOffset;

        public long? Total { get; private set; }

        public string? ETag { get; private set; } = request.ETag;

        public string? ContentType { get; private set; }

        public int Restarts { get; private set; }

        public long BytesReceived => Interlocked.Read(ref _bytesReceived);

        public int Requests => Volatile.Read(ref _requests);

        public bool CanRestart => _objectStartPosition >= 0;

        /// <summary>Whether the service has said the object's size and that many bytes are stored.</summary>
        public bool IsComplete => Total is { } total && Offset >= total && (total > 0 || !Options.RejectEmptyContent);

        public void CountRequest() => Interlocked.Increment(ref _requests);

        public void AddReceived(int count) => Interlocked.Add(ref _bytesReceived, count);

        public void ObserveTotal(long? total)
        {
            if (total is not { } value)
            {
                return;
            }

            lock (_observeLock)
            {
                ObserveTotalLocked(value);
            }
        }

        private void ObserveTotalLocked(long value)
        {
            if (Total is { } known && known != value)
            {
                throw new AcsContentException(AcsContentProblem.Changed, $"The object's size changed from {known} to {value} bytes during the download.");
            }

            Total = value;
        }

        public void ObserveResponse(HttpResponseMessage response)
        {
            lock (_observeLock)
            {
                ObserveResponseLocked(response);
            }
        }

        private void ObserveResponseLocked(HttpResponseMessage response)
        {
            ContentType ??= response.Content.Headers.ContentType?.MediaType;
            if (response.Headers.ETag is { IsWeak: false } etag)
            {
                if (ETag is { } known && !string.Equals(known, etag.Tag, StringComparison.Ordinal))
                {
                    throw new AcsContentException(AcsContentProblem.Changed, "The object's ETag changed during the download.");
                }

                ETag = etag.Tag;
            }
        }

        /// <summary>
        /// Writes and hashes the next bytes of the object. A failure of the destination is thrown as a
        /// <see cref="DestinationWriteException"/>, which no retry handles: the hash may already hold the bytes whose
        /// write failed, and the destination may hold part of them, so this download cannot go on.
        /// </summary>
        public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            try
            {
                // An asynchronous file write runs on the thread pool, so hashing the same bytes meanwhile overlaps the two.
                var write = destination.WriteAsync(bytes, cancellationToken);
                hash.AppendData(bytes.Span);
                await write.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw new DestinationWriteException(ex);
            }

            Offset += bytes.Length;
            if (progress is not null && (Offset - _lastReported >= ProgressStepBytes || Offset == Total))
            {
                _lastReported = Offset;
                progress.Report(new AcsDownloadProgress(Offset, Total));
            }
        }

        /// <summary>Throws away what was stored and starts the object again from byte 0.</summary>
        public void Restart()
        {
            destination.Position = _objectStartPosition;
            destination.SetLength(_objectStartPosition);
            hash.GetHashAndReset();
            Offset = 0;
            Total = null;
            ETag = null;
            ContentType = null;
            _lastReported = -1;
            Restarts++;
        }
    }

    /// <summary>
    /// Carries a failure of the caller's destination stream through the retry pipeline, which retries only the
    /// failures it knows to be transient; <see cref="DownloadAsync"/> unwraps it so the caller sees its own exception.
    /// </summary>
    private sealed class DestinationWriteException(Exception inner) : Exception(inner.Message, inner);
}

using System.Net;
using System.Net.Http.Headers;
using CallVault.Acs.Errors;
using CallVault.Acs.Internal;
using Microsoft.Extensions.Logging;
using Polly;

namespace CallVault.Acs.Downloads;

/// <summary>What every range body of one client shares: the signed HTTP client, retries, clock and log.</summary>
internal sealed record RangeTransport(HttpClient HttpClient, ResiliencePipeline Retry, bool ResumeAtOnceAfterProgress, TimeProvider TimeProvider, ILogger Logger);

/// <summary>
/// One range of the object, fetched into a sink and resumed after a transient failure from the sink's position: the
/// request (<c>Range</c>, <c>If-Range</c>), the response checks (status, <c>Content-Range</c>, length, ETag) and the
/// resuming all live here, for the single stream and for each part alike.
/// <para>
/// A <em>part</em> is a fixed range that must come back as that <c>206</c>. A <em>stream</em> runs from its start to
/// the object's end (or to the sink's limit, when a scheduler cut it): it accepts a <c>200</c> for the whole object,
/// and when a body ends without the size having been said (a chunked <c>200</c>, a <c>206</c> with <c>bytes a-b/*</c>)
/// it asks again from where it ended: more bytes continue the object, a <c>416</c> that states the size confirms the
/// end. A request that brings neither bytes nor the size ends with <see cref="AcsContentProblem.UnknownLength"/>.
/// </para>
/// </summary>
internal sealed class RangeBody
{
    /// <summary>Progress, in bytes, after which a dropped connection is resumed at once rather than after a back-off.</summary>
    private const long ImmediateResumeBytes = 256 * 1024;

    private readonly RangeTransport _transport;
    private readonly DownloadState _state;
    private readonly IRangeSink _sink;
    private readonly ByteRange? _part;
    private readonly bool _askRangeFromZero;
    private readonly TaskCompletionSource<bool> _splittable = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RangeBody(RangeTransport transport, DownloadState state, IRangeSink sink, ByteRange? part, bool askRangeFromZero)
    {
        _transport = transport;
        _state = state;
        _sink = sink;
        _part = part;
        _askRangeFromZero = askRangeFromZero;
    }

    /// <summary>A fixed range that must be answered with exactly that <c>206</c>.</summary>
    public static RangeBody Part(RangeTransport transport, DownloadState state, PartSink sink) =>
        new(transport, state, sink, sink.Range, askRangeFromZero: true);

    /// <summary>
    /// From the sink's position to the object's end. <paramref name="askRangeFromZero"/> sends <c>Range: bytes=0-</c>
    /// even from byte 0, so the answer says whether the service honours ranges (and the rest can be split); without it
    /// the first request is a plain GET, as the ACS quickstart sends.
    /// </summary>
    public static RangeBody Stream(RangeTransport transport, DownloadState state, IRangeSink sink, bool askRangeFromZero) =>
        new(transport, state, sink, part: null, askRangeFromZero);

    /// <summary>
    /// Completes true once a <c>206</c> has said the object's size (the rest may be fetched in parts), false when the
    /// first answer cannot be split (a whole <c>200</c>, no size) or the body ended first.
    /// </summary>
    public Task<bool> Splittable => _splittable.Task;

    /// <summary>Fetches the whole range into the sink, resuming and retrying as needed.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _transport.Retry.ExecuteAsync(
                static (body, ct) => body.ResumingAfterProgressAsync(ct),
                this,
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _splittable.TrySetResult(false);
        }
    }

    /// <summary>
    /// Runs attempts, and again at once after a transient failure that came after at least
    /// <see cref="ImmediateResumeBytes"/> new bytes: a connection that delivered data and then dropped is resumed
    /// straight away and does not use up the retry budget. A failure without that progress goes to the retry pipeline,
    /// which backs off, so a server that fails at once is not hammered.
    /// </summary>
    private async ValueTask<bool> ResumingAfterProgressAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var before = _sink.Position;
            try
            {
                if (_part is { } part)
                {
                    await FetchPartAttemptAsync(part, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await FetchRestAsync(cancellationToken).ConfigureAwait(false);
                }

                return true;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && AcsTransientErrors.IsTransient(ex))
            {
                _state.CountError();
                if (!_transport.ResumeAtOnceAfterProgress || _sink.Position - before < ImmediateResumeBytes)
                {
                    throw;
                }

                Log.ResumingAtOnce(_transport.Logger, _sink.Position, ex.Message);
            }
        }
    }

    private bool Reached => _sink.Limit is { } limit && _sink.Position >= limit;

    /// <summary>Whether the service has said the object's size and the sink has every byte up to it.</summary>
    private bool AtObjectEnd => _state.Total is { } total && _sink.Position >= total && (total > 0 || !_state.Options.RejectEmptyContent);

    private async ValueTask FetchRestAsync(CancellationToken cancellationToken)
    {
        while (!Reached && !AtObjectEnd)
        {
            var before = _sink.Position;
            await FetchStreamAttemptAsync(cancellationToken).ConfigureAwait(false);
            if (_state.Total is null && _state.Request.AllowUnknownLength)
            {
                // The caller proves the end from the content itself (a JSON document that parses).
                _state.ObserveTotal(_sink.Position);
            }

            if (!Reached && !AtObjectEnd && _sink.Position == before)
            {
                throw new AcsContentException(
                    AcsContentProblem.UnknownLength,
                    $"The service did not say the object's size and sent nothing after byte {_sink.Position}; the download cannot be told apart from a truncated one, so it is not reported complete.");
            }
        }
    }

    /// <summary>One attempt at a part: asks for the bytes not yet in the sink and appends them.</summary>
    private async ValueTask FetchPartAttemptAsync(ByteRange part, CancellationToken cancellationToken)
    {
        var first = _sink.Position;
        using var guard = new StallGuard(_state.Options.StallTimeout, _transport.TimeProvider, cancellationToken);
        using var response = await SendAsync(first, part.Last, askRange: true, guard, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.PartialContent)
        {
            await ThrowForUnexpectedAsync(response, cancellationToken).ConfigureAwait(false);
        }

        CheckContentRange(response, first);
        await CopyBodyAsync(response, part.Last + 1 - first, guard, cancellationToken).ConfigureAwait(false);
        if (_sink.Position <= part.Last)
        {
            throw new AcsContentException(
                AcsContentProblem.Truncated,
                $"The body for {part} ended after {_sink.Position - part.First} of {part.Length} bytes.");
        }
    }

    /// <summary>One attempt to stream from the sink's position up to its limit, or the end, into the sink.</summary>
    private async ValueTask FetchStreamAttemptAsync(CancellationToken cancellationToken)
    {
        var first = _sink.Position;
        var lastByte = _sink.Limit is { } limit && (_state.Total is not { } known || limit < known) ? limit - 1 : (long?)null;
        using var guard = new StallGuard(_state.Options.StallTimeout, _transport.TimeProvider, cancellationToken);
        var askRange = first > 0 || lastByte is not null || _askRangeFromZero;
        using var response = await SendAsync(first, lastByte, askRange, guard, cancellationToken).ConfigureAwait(false);

        // Where this body must end: the end of the range a 206 describes, or the whole object's length of a 200.
        long? end;
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                RejectIfEmpty(response);
                if (first > 0)
                {
                    AcceptWholeObjectAfterEnd(response, first);
                    _splittable.TrySetResult(false);
                    return;
                }

                _state.ObserveTotal(response.Content.Headers.ContentLength);
                _splittable.TrySetResult(false);
                (_sink as DestinationSink)?.Uncut();
                end = _state.Total;
                break;
            case HttpStatusCode.PartialContent:
                end = CheckContentRange(response, first);
                if (_state.Total is not null)
                {
                    _splittable.TrySetResult(true);
                }

                break;
            case HttpStatusCode.RequestedRangeNotSatisfiable when first > 0 && response.Content.Headers.ContentRange?.Length == first:
                // Everything was already stored by an earlier attempt.
                _state.ObserveTotal(first);
                return;
            case HttpStatusCode.RequestedRangeNotSatisfiable when first == 0 && lastByte is null:
                // An empty or tiny object refuses a probe range with 416; the .NET SDK then asks again without a
                // Range header, and so do we.
                response.Dispose();
                await FetchWithoutRangeAsync(cancellationToken).ConfigureAwait(false);
                return;
            default:
                await ThrowForUnexpectedAsync(response, cancellationToken).ConfigureAwait(false);
                throw new System.Diagnostics.UnreachableException();
        }

        _state.ObserveResponse(response);
        if (_state.Total is { } total && end > total)
        {
            end = total;
        }

        // Bytes past the end a response announced are not the object's bytes at that offset: never stored.
        await CopyBodyAsync(response, end - first, guard, cancellationToken).ConfigureAwait(false);
        if (end is { } expectedEnd && _sink.Position < expectedEnd && !Reached)
        {
            throw new AcsContentException(
                AcsContentProblem.Truncated,
                $"The body ended at byte {_sink.Position} of {expectedEnd}; the rest is fetched again.");
        }

        if (_sink.Position == 0 && _state.Options.RejectEmptyContent)
        {
            throw new AcsContentException(AcsContentProblem.Empty, "The service sent an empty body for a recording object.");
        }
    }

    private async ValueTask FetchWithoutRangeAsync(CancellationToken cancellationToken)
    {
        using var guard = new StallGuard(_state.Options.StallTimeout, _transport.TimeProvider, cancellationToken);
        using var response = await SendAsync(0, null, askRange: false, guard, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            await ThrowForUnexpectedAsync(response, cancellationToken).ConfigureAwait(false);
        }

        RejectIfEmpty(response);
        _state.ObserveTotal(response.Content.Headers.ContentLength);
        _splittable.TrySetResult(false);
        _state.ObserveResponse(response);
        var end = _state.Total;
        await CopyBodyAsync(response, end, guard, cancellationToken).ConfigureAwait(false);
        if (end is { } expectedEnd && _sink.Position < expectedEnd)
        {
            throw new AcsContentException(AcsContentProblem.Truncated, $"The body ended at byte {_sink.Position} of {expectedEnd}; the rest is fetched again.");
        }

        if (_sink.Position == 0 && _state.Options.RejectEmptyContent)
        {
            throw new AcsContentException(AcsContentProblem.Empty, "The service sent an empty body for a recording object.");
        }
    }

    /// <summary>
    /// A 200 to a range that starts after byte 0. When every byte up to <paramref name="first"/> is stored and the
    /// whole object's length is exactly that, the object is complete (a server that ignores ranges confirming the
    /// end); when no length is said, the end cannot be known; anything else means the object changed.
    /// </summary>
    private void AcceptWholeObjectAfterEnd(HttpResponseMessage response, long first)
    {
        var length = response.Content.Headers.ContentLength;
        if (_state.Total is null && length is null)
        {
            throw new AcsContentException(
                AcsContentProblem.UnknownLength,
                $"The service ignores ranges and does not say the object's size; {first} bytes were received and the download cannot be told apart from a truncated one, so it is not reported complete.");
        }

        if (length != first)
        {
            throw new AcsContentException(AcsContentProblem.Changed, $"Asked for the bytes from {first} on, the server sent the whole object ({length} bytes).");
        }

        _state.ObserveTotal(length);
        _state.ObserveResponse(response);
    }

    /// <summary>
    /// Reads the body into the sink, at most <paramref name="maxBytes"/> bytes and never past the sink's limit, then
    /// stores what was committed, also when a read fails, so that the next attempt resumes after it.
    /// </summary>
    private async ValueTask CopyBodyAsync(HttpResponseMessage response, long? maxBytes, StallGuard guard, CancellationToken cancellationToken)
    {
        var remaining = maxBytes ?? long.MaxValue;
        try
        {
            var body = await response.Content.ReadAsStreamAsync(guard.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                while (remaining > 0)
                {
                    var memory = _sink.GetMemory();
                    if (memory.IsEmpty)
                    {
                        return;
                    }

                    if (memory.Length > remaining)
                    {
                        memory = memory[..(int)remaining];
                    }

                    var read = await ReadAsync(body, memory, guard, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    remaining -= read;
                    _state.AddReceived(read);
                    await _sink.CommitAsync(read, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await _sink.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(long first, long? last, bool askRange, StallGuard guard, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, _state.Request.Location);
        if (askRange)
        {
            message.Headers.Range = new RangeHeaderValue(first, last);
            if (_state.ETag is { } etag)
            {
                message.Headers.IfRange = new RangeConditionHeaderValue(etag);
            }
        }

        _state.CountRequest();
        try
        {
            return await _transport.HttpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, guard.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (guard.HasFired && !cancellationToken.IsCancellationRequested)
        {
            throw new AcsStallTimeoutException($"No response within {_state.Options.StallTimeout.TotalSeconds:0.#} s.");
        }
    }

    private async Task ThrowForUnexpectedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.OK)
        {
            RejectIfEmpty(response);
            throw new AcsContentException(AcsContentProblem.Changed, "A range was asked for and the server sent the whole object: it changed or ignores ranges.");
        }

        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            throw new AcsContentException(AcsContentProblem.Changed, $"The server refused a range inside the object (size {response.Content.Headers.ContentRange?.Length}); it changed.");
        }

        throw new AcsRequestException(await AcsErrorResponse.ReadAsync(response, _transport.TimeProvider, cancellationToken).ConfigureAwait(false));
    }

    private void RejectIfEmpty(HttpResponseMessage response)
    {
        if (_state.Options.RejectEmptyContent && response.Content.Headers.ContentLength == 0)
        {
            throw new AcsContentException(AcsContentProblem.Empty, "The service answered 200 with an empty body for a recording object.");
        }
    }

    /// <summary>Checks that a 206 describes a range from <paramref name="first"/> and returns the offset just after its last byte.</summary>
    private long CheckContentRange(HttpResponseMessage response, long first)
    {
        var range = response.Content.Headers.ContentRange;
        if (range is not { HasRange: true, From: { } from, To: { } to } || from != first || to < from || to >= range.Length)
        {
            throw new AcsContentException(
                AcsContentProblem.InvalidContentRange,
                $"Asked for bytes from {first}, the 206 response says '{range}'.");
        }

        _state.ObserveTotal(range.Length);
        _state.ObserveResponse(response);
        return to + 1;
    }

    internal static async ValueTask<int> ReadAsync(Stream body, Memory<byte> buffer, StallGuard guard, CancellationToken cancellationToken)
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
}

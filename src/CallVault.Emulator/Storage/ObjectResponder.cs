using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using CallVault.Emulator.Faults;
using CallVault.Emulator.Media;
using Microsoft.Net.Http.Headers;

namespace CallVault.Emulator.Storage;

/// <summary>
/// Writes an object as the ACS media host does: single ranges (<c>a-b</c>, <c>a-</c>, <c>-n</c>) with 206 and
/// <c>Content-Range</c>, 416 outside the object, <c>Accept-Ranges</c>, a strong ETag honoured by <c>If-Range</c>,
/// paced to the link's bandwidth, and broken on purpose when a fault applies.
/// </summary>
internal sealed class ObjectResponder(EmulatorContext emulator)
{
    /// <summary>How many bytes one write to the response carries: 64 KiB.</summary>
    internal const int BlockSize = 64 * 1024;

    /// <summary>Answers the request; <paramref name="meter"/> counts the body bytes written and says how the response ended.</summary>
    public async Task WriteAsync(HttpContext context, IMediaSource media, string etag, FaultSpec? fault, ResponseMeter meter)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        var (link, totalBandwidth) = emulator.CurrentLink;
        if (link.LatencyMilliseconds > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(link.LatencyMilliseconds), emulator.TimeProvider, aborted);
        }

        switch (fault?.Type)
        {
            case FaultType.Status:
                response.StatusCode = fault.Status == 0 ? 503 : fault.Status;
                if (fault.RetryAfterSeconds > 0)
                {
                    response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                }

                await response.WriteAsJsonAsync(new { error = new { code = "ServiceUnavailable", message = $"Injected fault: status {response.StatusCode}." } }, aborted);
                meter.End = ResponseEnd.Complete;
                return;
            case FaultType.Html:
                response.StatusCode = fault.Status == 0 ? 400 : fault.Status;
                response.ContentType = "text/html; charset=utf-8";
                await response.WriteAsync("<!DOCTYPE html><html><head><title>Bad Request</title></head><body><h1>Bad Request</h1><p>Injected fault.</p></body></html>", aborted);
                meter.End = ResponseEnd.Complete;
                return;
            case FaultType.EmptyOk:
                response.StatusCode = 200;
                response.ContentType = media.ContentType;
                response.ContentLength = 0;
                meter.End = ResponseEnd.Complete;
                return;
        }

        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = etag;
        response.ContentType = media.ContentType;
        var length = media.Length;
        var (first, last, status) = SelectRange(context.Request, etag, length);
        if (status == 416)
        {
            response.StatusCode = 416;
            response.Headers.ContentRange = $"bytes */{length}";
            meter.End = ResponseEnd.Complete;
            return;
        }

        response.StatusCode = status;
        response.ContentLength = last - first + 1;
        if (status == 206)
        {
            response.Headers.ContentRange = new ContentRangeHeaderValue(first, last, length).ToString();
        }

        var limit = fault?.Type is FaultType.Reset or FaultType.Stall ? fault.AfterBytes : long.MaxValue;
        var rate = fault?.Type == FaultType.Trickle ? fault.BytesPerSecond : link.BandwidthBytesPerSecond;
        var planned = last - first + 1;
        var sent = await SendBodyAsync(context, media, first, last, limit, rate, totalBandwidth, meter, aborted);
        meter.End = sent == planned ? ResponseEnd.Complete : sent == limit ? ResponseEnd.CutByFault : ResponseEnd.Aborted;
        if (fault?.Type is FaultType.Reset or FaultType.Stall && limit < planned)
        {
            await response.Body.FlushAsync(aborted);
            if (fault.Type == FaultType.Stall)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, aborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            context.Abort();
        }
    }

    /// <summary>Picks the bytes to send for the request's Range and If-Range headers.</summary>
    internal static (long First, long Last, int Status) SelectRange(HttpRequest request, string etag, long length)
    {
        var whole = (0L, length - 1, 200);
        var rangeHeader = request.Headers.Range.ToString();
        if (string.IsNullOrEmpty(rangeHeader))
        {
            return whole;
        }

        var ifRange = request.Headers.IfRange.ToString();
        if (!string.IsNullOrEmpty(ifRange) && !string.Equals(ifRange, etag, StringComparison.Ordinal))
        {
            // The client's copy is of another version: RFC 9110 says send the whole, current object.
            return whole;
        }

        if (!RangeHeaderValue.TryParse(rangeHeader, out var range) || !range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase) || range.Ranges.Count != 1)
        {
            // Several ranges or a malformed header: ignoring Range is allowed, and it is what ACS does.
            return whole;
        }

        var item = range.Ranges.First();
        long first, last;
        if (item.From is null)
        {
            var suffix = item.To ?? 0;
            if (suffix == 0 || length == 0)
            {
                return (0, 0, 416);
            }

            first = Math.Max(0, length - suffix);
            last = length - 1;
        }
        else
        {
            first = item.From.Value;
            last = Math.Min(item.To ?? long.MaxValue, length - 1);
        }

        return first >= length || first > last ? (first, last, 416) : (first, last, 206);
    }

    /// <returns>The body bytes written.</returns>
    private async Task<long> SendBodyAsync(HttpContext context, IMediaSource media, long first, long last, long limit, long bytesPerSecond, SharedBandwidth? totalBandwidth, ResponseMeter meter, CancellationToken aborted)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        var started = emulator.TimeProvider.GetTimestamp();
        var sent = 0L;
        try
        {
            // Stop at once when the client is gone: a write to an aborted connection may complete without sending anything.
            for (var offset = first; offset <= last && sent < limit && !aborted.IsCancellationRequested; offset += BlockSize)
            {
                var count = (int)Math.Min(Math.Min(BlockSize, last - offset + 1), limit - sent);
                if (bytesPerSecond > 0)
                {
                    // Pace so that the bytes sent never run ahead of the allowed rate.
                    var due = TimeSpan.FromSeconds((double)(sent + count) / bytesPerSecond);
                    var wait = due - emulator.TimeProvider.GetElapsedTime(started);
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(wait, emulator.TimeProvider, aborted);
                    }
                }

                if (totalBandwidth is not null && totalBandwidth.Take(count) is var share && share > TimeSpan.FromMilliseconds(1))
                {
                    // All connections together: wait for this block's turn in the shared bucket.
                    await Task.Delay(share, emulator.TimeProvider, aborted);
                }

                media.Read(offset, buffer.AsSpan(0, count));
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, count), aborted);
                if (aborted.IsCancellationRequested)
                {
                    break;
                }

                sent += count;
                emulator.CountBytesSent(count);
                meter.Add(count);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away; nothing more to send.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Debug.Assert(sent <= last - first + 1, "never sends more than the range");
        }

        return sent;
    }
}

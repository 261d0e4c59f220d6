using CallVault.Audit;
using Microsoft.AspNetCore.Http.Features;

namespace CallVault.Server.Audit;

/// <summary>
/// Runs an answer while counting the bytes its body hands to the connection, then appends one access audit record
/// with that count, the status and whether the caller went away first.
/// </summary>
/// <remarks>
/// The record is written synchronously once the answer has ended (completed or aborted), and the request ends only after
/// it is committed; there is no in-memory queue. The caller already has every byte by then, so playback is not slowed;
/// only the next request on the same keep-alive connection waits for one commit (one fsync on SQLite). What this costs
/// against a queue is worth it for an audit: a record is never lost once its read has ended, and a crash (power cut,
/// kill) loses only the records of reads that were still being sent at that moment.
/// </remarks>
internal sealed class AuditedResult(IResult inner, AccessAuditEntry entry) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var original = httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var counted = new CountingStream(original.Stream);
        var body = new StreamResponseBodyFeature(counted, original);
        httpContext.Features.Set<IHttpResponseBodyFeature>(body);
        var aborted = false;
        try
        {
            await inner.ExecuteAsync(httpContext);
            await body.CompleteAsync();
        }
        catch
        {
            // The caller went away, the service is stopping, or the store failed mid-answer: the answer is incomplete.
            aborted = true;
            throw;
        }
        finally
        {
            httpContext.Features.Set(original);
            await AppendAsync(httpContext, entry with
            {
                Who = AccessAuditing.CallerName(httpContext),
                RemoteAddress = httpContext.Connection.RemoteIpAddress?.ToString(),
                Bytes = counted.BytesWritten,
                Status = httpContext.Response.StatusCode,
                Aborted = aborted || httpContext.RequestAborted.IsCancellationRequested,
            });
        }
    }

    private static async Task AppendAsync(HttpContext httpContext, AccessAuditEntry record)
    {
        var services = httpContext.RequestServices;
        // Not the request's token: a caller that went away must still be recorded.
        using var timeout = new CancellationTokenSource(AccessAuditing.AppendTimeout, services.GetRequiredService<TimeProvider>());
        try
        {
            await services.GetRequiredService<IAccessAuditLog>().AppendAsync([record], timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The bytes are already sent, so there is nothing left to refuse: the failure is made loud instead.
            Log.AuditAppendFailed(services.GetRequiredService<ILogger<AuditedResult>>(), record.Action, record.Who, record.RecordingKey, record.Bytes, ex);
        }
    }
}

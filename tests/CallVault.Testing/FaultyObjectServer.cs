using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using CallVault.Acs.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Testing;

/// <summary>What the next content request suffers.</summary>
public enum FaultKind
{
    /// <summary>Send <see cref="Fault.AfterBytes"/> bytes, then reset the connection.</summary>
    ResetAfter,

    /// <summary>Answer <see cref="Fault.Status"/> with a JSON problem body and an optional Retry-After.</summary>
    Status,

    /// <summary>Answer <see cref="Fault.Status"/> with an HTML body.</summary>
    Html,

    /// <summary>Answer 200 with an empty body.</summary>
    EmptyOk,

    /// <summary>Send <see cref="Fault.AfterBytes"/> bytes, then go silent until the client gives up.</summary>
    StallAfter,

    /// <summary>Send the whole answer slowly: 16 KiB every 40 ms.</summary>
    Trickle,

    /// <summary>Ignore the Range header and send the whole object with 200.</summary>
    IgnoreRange,

    /// <summary>Answer 206 with a Content-Range that starts one byte late.</summary>
    WrongContentRange,

    /// <summary>
    /// Answer a range with 206 and <c>Content-Range: bytes a-b/*</c> (size not said). With <see cref="Fault.AfterBytes"/>
    /// above 0 the range sent is only that many bytes long, as a server may answer less than was asked.
    /// </summary>
    UnknownTotal,

    /// <summary>
    /// Send the body chunked, without Content-Length (200 without a range, 206 with one). With
    /// <see cref="Fault.AfterBytes"/> above 0 the body ends cleanly, with the terminating chunk, after that many bytes:
    /// a short body the client can only tell from the whole by the size it was told or can ask for.
    /// </summary>
    Chunked,

    /// <summary>Ignore the Range header and send the whole object with 200, chunked, so that its size is never said.</summary>
    ChunkedIgnoreRange,
}

/// <summary>One misbehaviour for one content request.</summary>
public sealed record Fault(FaultKind Kind, long AfterBytes = 0, int Status = 0, int RetryAfterSeconds = 0)
{
    /// <summary>
    /// For <see cref="FaultKind.ResetAfter"/>: awaited, with the response's first byte offset, after the bytes are sent
    /// and before the reset. A reset discards what is still in the client's receive buffer, so a test that needs the
    /// client to have received bytes before the reset waits here until the client shows that it did.
    /// </summary>
    public Func<long, CancellationToken, Task>? HoldBeforeReset { get; init; }
}

/// <summary>One content request as the server saw it.</summary>
public sealed record ServedRequest(string Path, long First, long? Last, bool HadIfRange, int Status, long BytesSent, bool HadValidSignature)
{
    /// <summary>The request's place in arrival order, from 1.</summary>
    public int Sequence { get; init; }
}

/// <summary>
/// A Kestrel server on loopback that serves self-checking objects (byte <c>i</c> is <see cref="ByteAt"/>) like the ACS
/// media host: it checks ACS signatures, honours single ranges, <c>If-Range</c> and ETags, and misbehaves on purpose
/// by taking one <see cref="Fault"/> from a queue per content request. A second port serves the same objects with no
/// authentication, as another origin a redirect can point to.
/// </summary>
public sealed class FaultyObjectServer : IAsyncDisposable
{
    private const int BlockSize = 64 * 1024;
    private readonly WebApplication _app;
    private readonly byte[] _key;
    private long _bytesSent;
    private int _contentRequestsReceived;
    private int _documentRequestsReceived;
    private readonly Lock _servedLock = new();
    private TaskCompletionSource _servedChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FaultyObjectServer(WebApplication app, byte[] key)
    {
        _app = app;
        _key = key;
    }

    public Uri StorageBase { get; private set; } = null!;

    public Uri OtherOriginBase { get; private set; } = null!;

    public ConcurrentDictionary<string, long> Objects { get; } = new();

    public ConcurrentQueue<Fault> Faults { get; } = new();

    public ConcurrentQueue<ServedRequest> Served { get; } = new();

    public ConcurrentDictionary<string, byte[]> Documents { get; } = new();

    public ConcurrentBag<string> Deleted { get; } = new();

    /// <summary>Whether metadata documents are sent chunked, without Content-Length, as a JSON endpoint may send them.</summary>
    public bool ServeDocumentsChunked { get; set; }

    /// <summary>Metadata document requests that arrived.</summary>
    public int DocumentRequestsReceived => Volatile.Read(ref _documentRequestsReceived);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Content requests that arrived, counted on arrival (<see cref="Served"/> is filled when they end).</summary>
    public int ContentRequestsReceived => Volatile.Read(ref _contentRequestsReceived);

    /// <summary>
    /// Every content request that has arrived, in arrival order, once each has been recorded. A request is recorded
    /// when its handler ends, which can be just after the client has read the last byte, so a test that has finished
    /// its download reads <see cref="Served"/> through this instead of directly. Fails after 30 seconds.
    /// </summary>
    public async Task<IReadOnlyList<ServedRequest>> WaitForServedAsync()
    {
        while (true)
        {
            Task changed;
            lock (_servedLock)
            {
                changed = _servedChanged.Task;
            }

            if (Served.Count >= ContentRequestsReceived)
            {
                return [.. Served.OrderBy(s => s.Sequence)];
            }

            await changed.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Completes when a <see cref="FaultKind.StallAfter"/> response has sent its bytes and gone silent.</summary>
    public TaskCompletionSource StallReached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static byte ByteAt(long offset) => (byte)((offset % 251) ^ (offset >> 16));

    public static byte[] Sha256Of(long size)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var block = new byte[BlockSize];
        for (long offset = 0; offset < size; offset += BlockSize)
        {
            var count = (int)Math.Min(BlockSize, size - offset);
            Fill(block.AsSpan(0, count), offset);
            hash.AppendData(block, 0, count);
        }

        return hash.GetHashAndReset();
    }

    public static async Task<FaultyObjectServer> StartAsync(byte[] key)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var server = new FaultyObjectServer(app, key);
        app.MapGet("/v1/objects/{id}/content/{kind}", (string id, HttpContext context) => server.ServeContentAsync(id, context));
        app.MapGet("/v1/objects/{id}/document", server.ServeDocumentAsync);
        app.MapDelete("/v1/objects/{id}", server.DeleteAsync);
        app.MapGet("/recording/download/{id}", (string id, HttpContext context) => server.ServeContentAsync(id, context));
        app.MapGet("/recording/download/{id}/metadata", (string id, HttpContext context) => server.ServeDocumentAsync(id, context));
        app.MapGet("/redirect/{id}", (string id, HttpContext context) =>
            Results.Redirect(new Uri(server.OtherOriginBase, $"v1/objects/{id}/content/audio").AbsoluteUri));
        app.MapGet("/redirect-same/{id}", (string id) => Results.Redirect($"/v1/objects/{id}/content/audio"));
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        server.StorageBase = new Uri(addresses[0].Replace("[::1]", "127.0.0.1", StringComparison.Ordinal) + "/");
        server.OtherOriginBase = new Uri(addresses[1].Replace("[::1]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return server;
    }

    public Uri ContentUri(string id) => new(StorageBase, $"v1/objects/{id}/content/audio");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void Fill(Span<byte> block, long offset)
    {
        for (var i = 0; i < block.Length; i++)
        {
            block[i] = ByteAt(offset + i);
        }
    }

    private static string ETagOf(string id, long size) => $"\"{id}-{size}\"";

    private bool IsSigned(HttpContext context)
    {
        var request = context.Request;
        var check = AcsHmacVerifier.Verify(
            CallVault.Emulator.Storage.AcsSignatureCheck.SignedRequestOf(request, AcsHmacSigner.EmptyContentHash),
            _key,
            TimeProvider.System.GetUtcNow(),
            AcsHmacVerifier.DefaultDateWindow);
        return check.IsValid;
    }

    private bool IsOtherOrigin(HttpContext context) => context.Connection.LocalPort == OtherOriginBase.Port;

    private async Task ServeDocumentAsync(string id, HttpContext context)
    {
        Interlocked.Increment(ref _documentRequestsReceived);
        if (!IsSigned(context) || !Documents.TryGetValue(id, out var document))
        {
            context.Response.StatusCode = IsSigned(context) ? 404 : 401;
            return;
        }

        context.Response.ContentType = "application/json";
        if (!ServeDocumentsChunked)
        {
            context.Response.ContentLength = document.Length;
        }

        await context.Response.Body.WriteAsync(document);
    }

    private IResult DeleteAsync(string id, HttpContext context)
    {
        if (!IsSigned(context))
        {
            return Results.Unauthorized();
        }

        if (!Objects.TryRemove(id, out _))
        {
            return Results.NotFound();
        }

        Deleted.Add(id);
        return Results.Ok();
    }

    private async Task ServeContentAsync(string id, HttpContext context)
    {
        var sequence = Interlocked.Increment(ref _contentRequestsReceived);
        var signed = IsSigned(context);
        var response = context.Response;
        Faults.TryDequeue(out var fault);
        if (!signed && !IsOtherOrigin(context))
        {
            Record(context, sequence, 0, null, 401, 0, signed);
            response.StatusCode = 401;
            await response.WriteAsJsonAsync(new { title = "Unauthorized", status = 401, message = "Unauthorized", traceId = "00-test-trace" });
            return;
        }

        if (!Objects.TryGetValue(id, out var size))
        {
            Record(context, sequence, 0, null, 404, 0, signed);
            response.StatusCode = 404;
            return;
        }

        var etag = ETagOf(id, size);
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = etag;
        response.ContentType = "audio/wav";

        switch (fault?.Kind)
        {
            case FaultKind.Status:
                Record(context, sequence, 0, null, fault.Status, 0, signed);
                response.StatusCode = fault.Status;
                if (fault.RetryAfterSeconds > 0)
                {
                    response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                await response.WriteAsJsonAsync(new { error = new { code = "Busy", message = $"Injected {fault.Status}" } });
                return;
            case FaultKind.Html:
                Record(context, sequence, 0, null, fault.Status, 0, signed);
                response.StatusCode = fault.Status;
                response.ContentType = "text/html";
                await response.WriteAsync("<html><head><title>Bad Request - Invalid URL</title></head><body><h2>Bad Request</h2></body></html>");
                return;
            case FaultKind.EmptyOk:
                Record(context, sequence, 0, null, 200, 0, signed);
                response.StatusCode = 200;
                response.ContentLength = 0;
                return;
        }

        var (first, last, status) = ParseRange(context.Request, etag, size, fault?.Kind is FaultKind.IgnoreRange or FaultKind.ChunkedIgnoreRange);
        if (status == 416)
        {
            Record(context, sequence, first, last, 416, 0, signed);
            response.StatusCode = 416;
            response.Headers.ContentRange = $"bytes */{size}";
            return;
        }

        if (status == 206 && fault is { Kind: FaultKind.UnknownTotal, AfterBytes: > 0 })
        {
            last = Math.Min(last, first + fault.AfterBytes - 1);
        }

        response.StatusCode = status;
        if (fault?.Kind is not (FaultKind.Chunked or FaultKind.ChunkedIgnoreRange))
        {
            response.ContentLength = last - first + 1;
        }

        if (status == 206)
        {
            var shownFirst = fault?.Kind == FaultKind.WrongContentRange ? first + 1 : first;
            var shownSize = fault?.Kind == FaultKind.UnknownTotal ? "*" : size.ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers.ContentRange = $"bytes {shownFirst}-{last}/{shownSize}";
        }

        var limit = fault switch
        {
            { Kind: FaultKind.ResetAfter or FaultKind.StallAfter } => fault.AfterBytes,
            { Kind: FaultKind.Chunked, AfterBytes: > 0 } => fault.AfterBytes,
            _ => long.MaxValue,
        };
        var sent = 0L;
        var block = new byte[BlockSize];
        try
        {
            var blockSize = fault?.Kind == FaultKind.Trickle ? 16 * 1024 : BlockSize;
            for (var offset = first; offset <= last && sent < limit; offset += blockSize)
            {
                var count = (int)Math.Min(Math.Min(blockSize, last - offset + 1), limit - sent);
                if (fault?.Kind == FaultKind.Trickle)
                {
                    await Task.Delay(40, context.RequestAborted);
                }

                Fill(block.AsSpan(0, count), offset);
                await response.Body.WriteAsync(block.AsMemory(0, count), context.RequestAborted);
                if (fault?.Kind == FaultKind.Trickle)
                {
                    await response.Body.FlushAsync(context.RequestAborted);
                }

                sent += count;
                Interlocked.Add(ref _bytesSent, count);
            }

            if (sent < last - first + 1 && fault!.Kind != FaultKind.Chunked)
            {
                await response.Body.FlushAsync(context.RequestAborted);
                if (fault.Kind == FaultKind.StallAfter)
                {
                    StallReached.TrySetResult();
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }

                if (fault.HoldBeforeReset is { } hold)
                {
                    await hold(first, context.RequestAborted);
                }

                context.Abort();
            }
        }
        catch (OperationCanceledException)
        {
            // The client dropped the connection; what was sent is counted.
        }
        catch (IOException)
        {
        }
        finally
        {
            Record(context, sequence, first, last, status, sent, signed);
        }
    }

    private void Record(HttpContext context, int sequence, long first, long? last, int status, long sent, bool signed)
    {
        Served.Enqueue(new ServedRequest(context.Request.Path, first, last, context.Request.Headers.IfRange.Count > 0, status, sent, signed) { Sequence = sequence });
        TaskCompletionSource changed;
        lock (_servedLock)
        {
            changed = _servedChanged;
            _servedChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private static (long First, long Last, int Status) ParseRange(HttpRequest request, string etag, long size, bool ignoreRange)
    {
        var header = request.Headers.Range.ToString();
        var ifRange = request.Headers.IfRange.ToString();
        if (ignoreRange || string.IsNullOrEmpty(header) || (!string.IsNullOrEmpty(ifRange) && ifRange != etag))
        {
            return (0, size - 1, 200);
        }

        var spec = header["bytes=".Length..].Split('-');
        long first, last;
        if (spec[0].Length == 0)
        {
            var suffix = long.Parse(spec[1], System.Globalization.CultureInfo.InvariantCulture);
            first = Math.Max(0, size - suffix);
            last = size - 1;
        }
        else
        {
            first = long.Parse(spec[0], System.Globalization.CultureInfo.InvariantCulture);
            last = spec[1].Length == 0 ? size - 1 : Math.Min(size - 1, long.Parse(spec[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        return first >= size ? (first, size - 1, 416) : (first, last, 206);
    }
}

using System.Collections.Concurrent;

namespace CallVault.Emulator.Storage;

/// <summary>How the storage host's response to a download request ended.</summary>
public enum ResponseEnd
{
    /// <summary>Every body byte of the answered range was written.</summary>
    Complete,

    /// <summary>An injected <c>Reset</c> or <c>Stall</c> fault cut the body short on purpose.</summary>
    CutByFault,

    /// <summary>The client went away (or the connection broke) before the body was written in full.</summary>
    Aborted,
}

/// <summary>
/// What the storage host sent for one document's media, counted as the bytes were written to the response (a response
/// cut by a fault or by the client counts what was written before it broke, not the range that was asked for).
/// </summary>
/// <param name="Size">The media object's size in bytes.</param>
/// <param name="MediaBytesSent">Media body bytes written for this document, over every request.</param>
/// <param name="Requests">Media requests answered for this document, faulty answers included.</param>
/// <param name="RequestsInFlight">Media requests still being answered; the counts are final once this is 0.</param>
/// <param name="BytesInResponsesCutByFaults">Of <paramref name="MediaBytesSent"/>, bytes in responses an injected Reset or Stall cut short.</param>
/// <param name="BytesInAbortedResponses">Of <paramref name="MediaBytesSent"/>, bytes in responses the client abandoned before their end.</param>
public sealed record MediaTransfer(long Size, long MediaBytesSent, int Requests, int RequestsInFlight, long BytesInResponsesCutByFaults, long BytesInAbortedResponses)
{
    /// <summary>Bytes sent beyond one copy of the object (0 when at most one copy was sent).</summary>
    public long ExcessBytes => Math.Max(0, MediaBytesSent - Size);
}

/// <summary>
/// Per document, the media bytes the emulator sent: the measure of "downloaded once". A second download of a stored
/// chunk shows up as bytes beyond the object's size that no fault explains. Shown by <c>GET /admin/bytes-sent</c>.
/// </summary>
public sealed class MediaTransferLedger
{
    private readonly ConcurrentDictionary<string, DocumentTransfer> _documents = new(StringComparer.Ordinal);

    /// <summary>Every document that was asked for at least once, with its counts now.</summary>
    public IReadOnlyDictionary<string, MediaTransfer> Snapshot() =>
        _documents.ToDictionary(pair => pair.Key, pair => pair.Value.Snapshot(), StringComparer.Ordinal);

    /// <summary>One document's counts, or null when its media was never asked for.</summary>
    public MediaTransfer? Find(string documentId) => _documents.TryGetValue(documentId, out var document) ? document.Snapshot() : null;

    /// <summary>Counts a media request for <paramref name="documentId"/> from its start; bytes are added as they are written.</summary>
    internal ResponseMeter Begin(string documentId, long size)
    {
        var document = _documents.GetOrAdd(documentId, _ => new DocumentTransfer(size));
        document.Begin();
        return new ResponseMeter(document);
    }

    internal sealed class DocumentTransfer(long size)
    {
        private readonly Lock _lock = new();
        private long _bytes;
        private long _cutByFaults;
        private long _aborted;
        private int _requests;
        private int _inFlight;

        public void Begin()
        {
            lock (_lock)
            {
                _requests++;
                _inFlight++;
            }
        }

        public void Add(long count)
        {
            lock (_lock)
            {
                _bytes += count;
            }
        }

        public void End(long responseBytes, ResponseEnd end)
        {
            lock (_lock)
            {
                _inFlight--;
                if (end == ResponseEnd.CutByFault)
                {
                    _cutByFaults += responseBytes;
                }
                else if (end == ResponseEnd.Aborted)
                {
                    _aborted += responseBytes;
                }
            }
        }

        public MediaTransfer Snapshot()
        {
            lock (_lock)
            {
                return new MediaTransfer(size, _bytes, _requests, _inFlight, _cutByFaults, _aborted);
            }
        }
    }
}

/// <summary>
/// Counts one response's body bytes as they are written, and how it ended. Until the responder says otherwise a
/// response counts as aborted, so that one broken by an exception is never taken for complete.
/// </summary>
internal sealed class ResponseMeter(MediaTransferLedger.DocumentTransfer? document = null)
{
    private long _bytes;
    private int _ended;

    public long BytesSent => Interlocked.Read(ref _bytes);

    public ResponseEnd End { get; set; } = ResponseEnd.Aborted;

    public void Add(long count)
    {
        Interlocked.Add(ref _bytes, count);
        document?.Add(count);
    }

    /// <summary>Closes the count; only the first call counts.</summary>
    public void Finish()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            document?.End(BytesSent, End);
        }
    }
}

using System.Globalization;

namespace CallVault.Emulator.Storage;

/// <summary>One document's media bytes sent against its size, and how much of the excess is explained.</summary>
/// <param name="DocumentId">The chunk.</param>
/// <param name="Size">The object's size in bytes.</param>
/// <param name="Sent">Media bytes the emulator wrote for it.</param>
/// <param name="ExplainedByFaults">Bytes in responses that an injected Reset or Stall cut short.</param>
/// <param name="ExplainedByCrash">Bytes sent before a crash to a process that held the chunk when it was killed.</param>
public sealed record DocumentExcess(string DocumentId, long Size, long Sent, long ExplainedByFaults, long ExplainedByCrash)
{
    /// <summary>Bytes sent beyond one copy.</summary>
    public long Excess => Math.Max(0, Sent - Size);

    /// <summary>Bytes sent beyond one copy that neither a fault nor a crash explains: a second download.</summary>
    public long Unexplained => Math.Max(0, Sent - Size - ExplainedByFaults - ExplainedByCrash);

    /// <summary><see cref="Unexplained"/> as a fraction of <see cref="Size"/>.</summary>
    public double UnexplainedFraction => Size == 0 ? (Unexplained > 0 ? double.PositiveInfinity : 0) : (double)Unexplained / Size;

    /// <summary><see cref="Excess"/> as a fraction of <see cref="Size"/>.</summary>
    public double ExcessFraction => Size == 0 ? (Excess > 0 ? double.PositiveInfinity : 0) : (double)Excess / Size;
}

/// <summary>
/// "Downloaded exactly once", measured by bytes: for every chunk, the media bytes the emulator sent against the
/// object's size. Bytes beyond one copy are explained when they went out in a response an injected fault cut short
/// (the client resumes from what reached it, and a reset discards what was still in flight), or when they were sent,
/// before a crash, for a chunk the killed process was downloading (what it had not yet made durable is fetched
/// again). Anything else, such as a second full download by another worker or instance, is unexplained.
/// </summary>
public sealed class ByteExcessReport
{
    private ByteExcessReport(IReadOnlyList<DocumentExcess> documents) => Documents = documents;

    /// <summary>Every document measured.</summary>
    public IReadOnlyList<DocumentExcess> Documents { get; }

    /// <summary>Sum of the objects' sizes.</summary>
    public long TotalSize => Documents.Sum(d => d.Size);

    /// <summary>Sum of the media bytes sent.</summary>
    public long TotalSent => Documents.Sum(d => d.Sent);

    /// <summary>Sum of the bytes sent beyond one copy per document.</summary>
    public long TotalExcess => Documents.Sum(d => d.Excess);

    /// <summary>Sum of the unexplained bytes.</summary>
    public long TotalUnexplained => Documents.Sum(d => d.Unexplained);

    /// <summary>The document with the largest unexplained fraction (then the largest raw excess), or null when there are none.</summary>
    public DocumentExcess? Worst => Documents.OrderByDescending(d => d.UnexplainedFraction).ThenByDescending(d => d.ExcessFraction).FirstOrDefault();

    /// <summary>Documents never asked for (no byte sent).</summary>
    public IReadOnlyList<string> NeverSent => [.. Documents.Where(d => d.Sent == 0 && d.Size > 0).Select(d => d.DocumentId)];

    /// <summary>Whether no document, and not the whole, has more unexplained excess than <paramref name="fraction"/> of its size.</summary>
    public bool IsWithin(double fraction) =>
        Documents.All(d => d.UnexplainedFraction <= fraction) && (TotalSize == 0 || (double)TotalUnexplained / TotalSize <= fraction);

    /// <summary>
    /// Waits until no media request for <paramref name="documentIds"/> is still being answered (so the counts are
    /// final), then measures them.
    /// </summary>
    /// <param name="emulator">The emulator that served the downloads.</param>
    /// <param name="documentIds">The chunks to measure.</param>
    /// <param name="crashes">For each chunk that a killed process held at the kill, the moment (emulator clock) the process was gone.</param>
    /// <param name="settleTimeout">How long to wait for requests in flight to end.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="TimeoutException">Requests were still in flight after <paramref name="settleTimeout"/>.</exception>
    public static async Task<ByteExcessReport> MeasureAsync(
        EmulatorContext emulator,
        IEnumerable<string> documentIds,
        IReadOnlyDictionary<string, DateTimeOffset>? crashes,
        TimeSpan settleTimeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        ArgumentNullException.ThrowIfNull(documentIds);
        var ids = documentIds.Distinct(StringComparer.Ordinal).ToList();
        var started = TimeProvider.System.GetTimestamp();
        while (ids.Select(emulator.MediaTransfers.Find).Any(t => t is { RequestsInFlight: > 0 }))
        {
            if (TimeProvider.System.GetElapsedTime(started) > settleTimeout)
            {
                var busy = ids.Where(id => emulator.MediaTransfers.Find(id) is { RequestsInFlight: > 0 }).Take(5);
                throw new TimeoutException($"Media requests were still in flight after {settleTimeout.TotalSeconds:0} s for {string.Join(", ", busy)}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
        }

        var requests = emulator.ObjectRequests.Where(r => !r.Metadata).ToLookup(r => r.DocumentId, StringComparer.Ordinal);
        var documents = new List<DocumentExcess>(ids.Count);
        foreach (var id in ids)
        {
            var transfer = emulator.MediaTransfers.Find(id);
            var size = transfer?.Size ?? (emulator.Recordings.TryGetAvailable(id, out var chunk) ? chunk.Media.Length : 0);
            var crashExplained = crashes is not null && crashes.TryGetValue(id, out var crashedAt)
                ? requests[id].Where(r => r.Started < crashedAt && r.End != ResponseEnd.CutByFault).Sum(r => r.BytesSent)
                : 0;
            documents.Add(new DocumentExcess(id, size, transfer?.MediaBytesSent ?? 0, transfer?.BytesInResponsesCutByFaults ?? 0, crashExplained));
        }

        return new ByteExcessReport(documents);
    }

    /// <summary>A one-line summary: totals, and the worst document as a percentage of its size.</summary>
    public override string ToString()
    {
        var worst = Worst;
        var byFaults = Documents.Sum(d => Math.Min(d.Excess, d.ExplainedByFaults));
        var byCrashes = Documents.Sum(d => Math.Min(Math.Max(0, d.Excess - d.ExplainedByFaults), d.ExplainedByCrash));
        var totals = string.Create(
            CultureInfo.InvariantCulture,
            $"{Documents.Count} chunks, {TotalSize:N0} bytes: {TotalSent:N0} media bytes sent, excess {TotalExcess:N0} ({Percent(TotalExcess, TotalSize)}), explained by faults {byFaults:N0}, by crashes {byCrashes:N0}, unexplained {TotalUnexplained:N0} ({Percent(TotalUnexplained, TotalSize)})");
        var worstText = worst is null
            ? "none"
            : string.Create(CultureInfo.InvariantCulture, $"{worst.DocumentId}: sent {worst.Sent:N0} of {worst.Size:N0} (excess {worst.ExcessFraction:0.00%}, unexplained {worst.UnexplainedFraction:0.00%})");
        return $"{totals}; worst chunk {worstText}";
    }

    private static string Percent(long part, long whole) => whole == 0 ? "0%" : ((double)part / whole).ToString("0.000%", CultureInfo.InvariantCulture);
}

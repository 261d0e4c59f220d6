namespace CallVault.Events;

/// <summary>
/// Events the webhook received but could not use (unreadable data, an id the database cannot hold, a validation from a
/// foreign topic inside a batch), kept in the job database so an operator can see what was refused and why instead
/// of the event vanishing. A role of the job database beside the download queue; implementations share its
/// connections.
/// </summary>
/// <remarks>
/// Contract every implementation honours (checked by the rejected-event contract tests):
/// <list type="bullet">
/// <item><see cref="RecordAsync"/> returns only after the records are durably committed, so the webhook may answer 200.</item>
/// <item>The same raw event refused for the same reason again (a redelivery) stays one record: its
/// <see cref="RejectedEventRecord.Occurrences"/> grows and <see cref="RejectedEventRecord.LastSeenAt"/> moves.</item>
/// <item>Any text is accepted: NUL characters and unpaired surrogates are replaced by U+FFFD and every field is cut to
/// the lengths in <see cref="RejectedEventLimits"/>, so recording a refusal can never fail on what the event held.</item>
/// </list>
/// </remarks>
public interface IRejectedEventStore
{
    /// <summary>Durably records refused events, in one transaction.</summary>
    Task RecordAsync(IReadOnlyList<RejectedEvent> events, CancellationToken cancellationToken);

    /// <summary>The most recently seen refusals first; <paramref name="take"/> is clamped to 1-1,000.</summary>
    Task<IReadOnlyList<RejectedEventRecord>> ListAsync(int take, CancellationToken cancellationToken);

    /// <summary>How many distinct refused events are kept.</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);
}

/// <summary>An event the webhook refused, as handed to <see cref="IRejectedEventStore.RecordAsync"/>.</summary>
/// <param name="EventId">The event's id when it had a readable one.</param>
/// <param name="EventType">The event's type when it had a readable one.</param>
/// <param name="Reason">Why it was refused, for an operator.</param>
/// <param name="RawJson">The event as received (its JSON text, or the whole body when that was not JSON).</param>
/// <param name="DeliveryId">The request that carried it (its trace identifier), to find it in the logs.</param>
public sealed record RejectedEvent(string? EventId, string? EventType, string Reason, string RawJson, string? DeliveryId = null);

/// <summary>A kept refusal.</summary>
public sealed record RejectedEventRecord
{
    /// <summary>Identifies the record: SHA-256 (hex) of the raw event and the reason.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The event's id, if it had one (cleaned and cut as described on <see cref="IRejectedEventStore"/>).</summary>
    public string? EventId { get; init; }

    /// <summary>The event's type, if it had one.</summary>
    public string? EventType { get; init; }

    /// <summary>Why it was refused.</summary>
    public required string Reason { get; init; }

    /// <summary>The raw event, cut to <see cref="RejectedEventLimits.MaxRawJsonLength"/> characters.</summary>
    public required string RawJson { get; init; }

    /// <summary>The raw event's length in characters before it was cut.</summary>
    public long RawLength { get; init; }

    /// <summary>Whether <see cref="RawJson"/> was cut.</summary>
    public bool RawTruncated => RawLength > RawJson.Length;

    /// <summary>The last delivery that carried it.</summary>
    public string? DeliveryId { get; init; }

    /// <summary>When it was first refused.</summary>
    public DateTimeOffset FirstSeenAt { get; init; }

    /// <summary>When it was last refused.</summary>
    public DateTimeOffset LastSeenAt { get; init; }

    /// <summary>How many times it was refused (redeliveries included).</summary>
    public long Occurrences { get; init; }
}

/// <summary>How much of a refused event is kept.</summary>
public static class RejectedEventLimits
{
    /// <summary>The raw event is kept up to 65,536 characters (Event Grid allows 1 MB; a recording event is under 2 KB).</summary>
    public const int MaxRawJsonLength = 65_536;

    /// <summary>Event ids and types are kept up to 1,024 characters.</summary>
    public const int MaxIdLength = 1_024;

    /// <summary>Reasons are kept up to 2,048 characters.</summary>
    public const int MaxReasonLength = 2_048;
}

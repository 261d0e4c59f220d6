namespace CallVault.Emulator.EventGrid;

/// <summary>Where a subscription stands.</summary>
public enum SubscriptionState
{
    /// <summary>Validated; receives events.</summary>
    Active,

    /// <summary>The webhook answered the validation event with 2xx but no code: waiting for a GET on the validation URL.</summary>
    AwaitingManualAction,

    /// <summary>Validation failed; receives nothing.</summary>
    Failed,
}

/// <summary>A subscription as the admin API shows it.</summary>
public sealed class Subscription
{
    /// <summary>The subscription's id.</summary>
    public required string Id { get; init; }

    /// <summary>What was asked for.</summary>
    public required SubscriptionSpec Spec { get; init; }

    /// <summary>Where it stands.</summary>
    public SubscriptionState State { get; internal set; }

    /// <summary>Why validation failed, when it did.</summary>
    public string? Error { get; internal set; }

    /// <summary>The code of the validation handshake.</summary>
    public required string ValidationCode { get; init; }

    /// <summary>The manual validation URL, valid for 5 minutes (scaled) after creation.</summary>
    public required Uri ValidationUrl { get; init; }

    /// <summary>When the subscription was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>How one delivery attempt ended.</summary>
public enum DeliveryOutcome
{
    /// <summary>The webhook answered 200–204.</summary>
    Delivered,

    /// <summary>The attempt failed and another is scheduled.</summary>
    WillRetry,

    /// <summary>The attempt failed and the events went to the dead-letter list.</summary>
    DeadLettered,
}

/// <summary>One delivery attempt, for <c>GET /admin/deliveries</c>.</summary>
public sealed record DeliveryAttempt(
    string DeliveryId,
    string Subscription,
    IReadOnlyList<string> EventIds,
    int Attempt,
    int? Status,
    string? Error,
    DeliveryOutcome Outcome,
    double LatencyMilliseconds,
    DateTimeOffset Time);

/// <summary>An event Event Grid gave up on, for <c>GET /admin/dead-letters</c>.</summary>
/// <param name="Subscription">The subscription's name.</param>
/// <param name="EventId">The event.</param>
/// <param name="DeadLetterReason">Why it was given up on.</param>
/// <param name="DeliveryAttempts">Attempts made.</param>
/// <param name="LastDeliveryOutcome">How the last attempt ended.</param>
/// <param name="Time">When it was given up on.</param>
/// <param name="BlobName">The dead-letter blob it was written to (about 5 minutes, scaled, later), when the subscription names a container.</param>
public sealed record DeadLetter(
    string Subscription,
    string EventId,
    string DeadLetterReason,
    int DeliveryAttempts,
    string LastDeliveryOutcome,
    DateTimeOffset Time,
    string? BlobName = null);

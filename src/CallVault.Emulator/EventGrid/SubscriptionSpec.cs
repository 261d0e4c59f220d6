using System.ComponentModel.DataAnnotations;

namespace CallVault.Emulator.EventGrid;

/// <summary>The output schema of a subscription.</summary>
public enum EventSchema
{
    /// <summary>The Event Grid schema: a JSON array of events; validation by a SubscriptionValidationEvent.</summary>
    EventGrid,

    /// <summary>CloudEvents 1.0 in structured JSON mode; validation by the OPTIONS abuse-protection handshake.</summary>
    CloudEvents,
}

/// <summary>The body of <c>POST /admin/subscriptions</c>: a webhook subscription, as <c>az eventgrid event-subscription create</c> would make.</summary>
public sealed record SubscriptionSpec
{
    /// <summary>The subscription's name; sent upper-cased in <c>aeg-subscription-name</c>. Default <c>callvault</c>.</summary>
    public string Name { get; init; } = "callvault";

    /// <summary>The webhook URL, query string (and any secret in it) included.</summary>
    [Required]
    public string Endpoint { get; init; } = string.Empty;

    /// <summary>The output schema. Default <see cref="EventSchema.EventGrid"/>.</summary>
    public EventSchema Schema { get; init; } = EventSchema.EventGrid;

    /// <summary>Events per delivery, 1 to 5,000. 1 (default) is unbatched.</summary>
    [Range(1, 5000)]
    public int MaxEventsPerBatch { get; init; } = 1;

    /// <summary>Preferred size of a batch in KB, 1 to 1,024. Default 64.</summary>
    [Range(1, 1024)]
    public int PreferredBatchSizeInKilobytes { get; init; } = 64;

    /// <summary>Static headers sent with every request (a secret header, for instance). At most 10.</summary>
    public IReadOnlyDictionary<string, string>? DeliveryHeaders { get; init; }

    /// <summary>Delivery attempts per event, 1 to 30. Default 30.</summary>
    [Range(1, 30)]
    public int MaxDeliveryAttempts { get; init; } = 30;

    /// <summary>Event time-to-live in minutes, 1 to 1,440 (scaled by the emulator's time factor). Default 1,440.</summary>
    [Range(1, 1440)]
    public int EventTimeToLiveInMinutes { get; init; } = 1440;

    /// <summary>
    /// Where events given up on are written, as Event Grid's <c>--deadletter-endpoint</c> does; none by default (they
    /// are only listed at <c>GET /admin/dead-letters</c>).
    /// </summary>
    public DeadLetterDestinationSpec? DeadLetter { get; init; }
}

/// <summary>A subscription's dead-letter destination: a Blob Storage container (Azurite in tests).</summary>
public sealed record DeadLetterDestinationSpec
{
    /// <summary>The storage connection string; never shown by the admin API.</summary>
    [Required]
    public string ConnectionString { get; init; } = string.Empty;

    /// <summary>The container, created when missing.</summary>
    [Required]
    public string ContainerName { get; init; } = string.Empty;
}

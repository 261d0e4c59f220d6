using CallVault.Events;
using CallVault.Server.Access;

namespace CallVault.Server.Api;

/// <summary>The events API: what the webhook refused and kept (<c>GET /api/events/rejected</c>).</summary>
internal static class EventsApi
{
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/events").WithTags("Events").RequireAuthorization(AccessPolicies.Reader);
        api.MapGet("/rejected", async (IRejectedEventStore rejected, int? take, CancellationToken cancellationToken) =>
        {
            var total = await rejected.CountAsync(cancellationToken);
            var events = await rejected.ListAsync(take ?? 100, cancellationToken);
            return Results.Ok(new
            {
                total,
                events = events.Select(e => new
                {
                    fingerprint = e.Fingerprint,
                    eventId = e.EventId,
                    eventType = e.EventType,
                    reason = e.Reason,
                    firstSeenAt = e.FirstSeenAt,
                    lastSeenAt = e.LastSeenAt,
                    occurrences = e.Occurrences,
                    deliveryId = e.DeliveryId,
                    rawLength = e.RawLength,
                    rawTruncated = e.RawTruncated,
                    rawJson = e.RawJson,
                }),
            });
        }).WithSummary("Events the webhook refused (unreadable, or holding values the database cannot store), most recently seen first, with the reason and the raw event (up to 64 KiB); take up to 1,000, default 100. total counts them all.");
        return routes;
    }
}

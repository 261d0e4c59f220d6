using CallVault.Audit;
using CallVault.Server.Access;

namespace CallVault.Server.Api;

/// <summary>The access audit API: who read or changed which recording, newest first (<c>GET /api/audit</c>).</summary>
internal static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        // Reading the audit log is an operator's business: it names every caller and what they read.
        var api = routes.MapGroup("/api/audit").WithTags("Audit").RequireAuthorization(AccessPolicies.Operator);
        api.MapGet("/", async (IAccessAuditLog audit, DateTimeOffset? since, DateTimeOffset? until, string? who, string? recording, string? before, int? take, CancellationToken cancellationToken) =>
        {
            if (take is < 1 or > 1000)
            {
                return Results.Problem($"take must be 1-1000, not {take}.", statusCode: StatusCodes.Status400BadRequest);
            }

            AccessAuditPage page;
            try
            {
                page = await audit.ListAsync(
                    new AccessAuditQuery
                    {
                        Since = since,
                        Until = until,
                        Who = string.IsNullOrEmpty(who) ? null : who,
                        RecordingKey = string.IsNullOrEmpty(recording) ? null : recording,
                        Before = string.IsNullOrEmpty(before) ? null : before,
                        Take = take ?? 100,
                    },
                    cancellationToken);
            }
            catch (ArgumentException)
            {
                return Results.Problem("before is not a cursor this service gave out: pass the 'next' value of a previous page.", statusCode: StatusCodes.Status400BadRequest);
            }

            return Results.Ok(new
            {
                records = page.Records.Select(r => new
                {
                    id = r.Id,
                    at = r.At,
                    who = r.Entry.Who,
                    action = r.Entry.Action,
                    recordingKey = r.Entry.RecordingKey,
                    documentId = r.Entry.DocumentId,
                    chunkIndex = r.Entry.ChunkIndex,
                    bytes = r.Entry.Bytes,
                    remoteAddress = r.Entry.RemoteAddress,
                    status = r.Entry.Status,
                    aborted = r.Entry.Aborted,
                }),
                next = page.Next,
            });
        }).WithSummary("Access audit records (media, metadata and manifest reads, retries), newest first: filters since/until (time), who (caller name), recording (key); take 1-1000, default 100; next is the cursor to pass as before for the following page.");
        return routes;
    }
}

using CallVault.Emulator.Faults;
using CallVault.Emulator.Media;

namespace CallVault.Emulator.Storage;

/// <summary>The recording download API: GA routes on the storage host (<c>/v1/objects/{documentId}/content/{kind}</c>,
/// <c>…/content/acsmetadata</c> and <c>DELETE /v1/objects/{documentId}</c>), 2021-preview routes on the endpoint
/// (<c>/recording/download/{documentId}[/metadata]?api-version=2021-04-15-preview1</c>).</summary>
internal static class DownloadEndpoints
{
    private const string PreviewApiVersion = "2021-04-15-preview1";

    public static IEndpointRouteBuilder MapStorageDownloads(this IEndpointRouteBuilder routes, EmulatorContext emulator)
    {
        var signatures = new AcsSignatureCheck(emulator);
        var responder = new ObjectResponder(emulator);
        routes.MapGet("/v1/objects/{documentId}/content/{kind}", async (string documentId, string kind, HttpContext context) =>
        {
            if (await signatures.RejectUnlessSignedAsync(context) is { } rejected)
            {
                return rejected;
            }

            var isMetadata = kind == "acsmetadata";
            if (!emulator.Recordings.TryGetAvailable(documentId, out var chunk) || (!isMetadata && kind != chunk.ContentKind))
            {
                return NotFound(documentId);
            }

            var fault = emulator.Faults.Take(documentId, isMetadata ? FaultTarget.Metadata : FaultTarget.Content);
            var started = emulator.TimeProvider.GetUtcNow();
            var meter = isMetadata ? new ResponseMeter() : emulator.MediaTransfers.Begin(documentId, chunk.Media.Length);
            try
            {
                await (isMetadata
                ? responder.WriteAsync(context, new MemoryMedia(chunk.Metadata, "application/json"), $"\"m{chunk.Sha256[..31]}\"", fault, meter)
                : responder.WriteAsync(context, chunk.Media, chunk.ETag, fault, meter));
            }
            finally
            {
                meter.Finish();
                emulator.ObjectRequests.Enqueue(new ObjectRequest(documentId, isMetadata, started, emulator.TimeProvider.GetUtcNow(), meter.BytesSent, meter.End));
            }

            return Results.Empty;
        });

        routes.MapDelete("/v1/objects/{documentId}", async (string documentId, HttpContext context) =>
        {
            if (await signatures.RejectUnlessSignedAsync(context) is { } rejected)
            {
                return rejected;
            }

            if (emulator.Faults.Take(documentId, FaultTarget.Delete) is { Type: FaultType.Status } fault)
            {
                return Results.Json(new { error = new { code = "Injected", message = "Injected fault." } }, statusCode: fault.Status == 0 ? 503 : fault.Status);
            }

            return emulator.Recordings.Delete(documentId) ? Results.Ok() : NotFound(documentId);
        });
        return routes;
    }

    public static IEndpointRouteBuilder MapPreviewDownloads(this IEndpointRouteBuilder routes, EmulatorContext emulator)
    {
        var signatures = new AcsSignatureCheck(emulator);
        var responder = new ObjectResponder(emulator);
        routes.MapGet("/recording/download/{documentId}", (string documentId, HttpContext context) => ServeAsync(documentId, metadata: false, context));
        routes.MapGet("/recording/download/{documentId}/metadata", (string documentId, HttpContext context) => ServeAsync(documentId, metadata: true, context));
        return routes;

        async Task<IResult> ServeAsync(string documentId, bool metadata, HttpContext context)
        {
            if (await signatures.RejectUnlessSignedAsync(context) is { } rejected)
            {
                return rejected;
            }

            if (context.Request.Query["api-version"] != PreviewApiVersion)
            {
                return Results.Json(
                    new { error = new { code = "InvalidApiVersion", message = $"api-version must be {PreviewApiVersion}." } },
                    statusCode: 400);
            }

            if (!emulator.Recordings.TryGetAvailable(documentId, out var chunk))
            {
                return NotFound(documentId);
            }

            var fault = emulator.Faults.Take(documentId, metadata ? FaultTarget.Metadata : FaultTarget.Content);
            var started = emulator.TimeProvider.GetUtcNow();
            var meter = metadata ? new ResponseMeter() : emulator.MediaTransfers.Begin(documentId, chunk.Media.Length);
            try
            {
                await (metadata
                    ? responder.WriteAsync(context, new MemoryMedia(chunk.Metadata, "application/json"), $"\"m{chunk.Sha256[..31]}\"", fault, meter)
                    : responder.WriteAsync(context, chunk.Media, chunk.ETag, fault, meter));
            }
            finally
            {
                meter.Finish();
                emulator.ObjectRequests.Enqueue(new ObjectRequest(documentId, metadata, started, emulator.TimeProvider.GetUtcNow(), meter.BytesSent, meter.End));
            }

            return Results.Empty;
        }
    }

    private static IResult NotFound(string documentId) => Results.Json(
        new { error = new { code = "NotFound", message = $"Object {documentId} does not exist, was deleted, or is past retention." } },
        statusCode: 404);
}

using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace CallVault.Server.Webhook;

/// <summary>The answer to a validation: Event Grid reads <c>validationResponse</c>.</summary>
internal sealed record ValidationAnswer(string ValidationResponse);

/// <summary>
/// The answer to a delivery: what was accepted, ignored and refused (by position, since an unusable event may have no
/// usable id), and the validation code when a validation came inside a batch.
/// </summary>
internal sealed record DeliveryAnswer(
    int Accepted,
    int NewChunks,
    int Ignored,
    int InvalidChunks,
    IReadOnlyList<RejectedAnswer> Rejected,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ValidationResponse);

/// <summary>One event refused on its own.</summary>
internal sealed record RejectedAnswer(int Index, string? Id, string Reason);

/// <summary>400 (a body that can never succeed) or 403 (a validation from a topic that is not configured).</summary>
internal sealed class DeliveryRefusedProblem(int status, string detail) : IResult, IEndpointMetadataProvider
{
    public Task ExecuteAsync(HttpContext httpContext) => TypedResults.Problem(detail, statusCode: status).ExecuteAsync(httpContext);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(WebhookProblems.Produces(StatusCodes.Status400BadRequest));
        builder.Metadata.Add(WebhookProblems.Produces(StatusCodes.Status403Forbidden));
    }
}

/// <summary>413: the delivery is larger than <c>CallVault:Webhook:MaxBodyBytes</c>.</summary>
internal sealed class PayloadTooLargeProblem(string detail) : IResult, IEndpointMetadataProvider
{
    public Task ExecuteAsync(HttpContext httpContext) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge).ExecuteAsync(httpContext);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(WebhookProblems.Produces(StatusCodes.Status413PayloadTooLarge));
    }
}

/// <summary>503 with <c>Retry-After</c>: nothing was acknowledged that is not committed, so Event Grid retries.</summary>
internal sealed class ServiceUnavailableProblem(string detail, int RetryAfterSeconds) : IResult, IEndpointMetadataProvider
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(httpContext);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(WebhookProblems.Produces(StatusCodes.Status503ServiceUnavailable));
    }
}

internal static class WebhookProblems
{
    public static ProducesResponseTypeMetadata Produces(int status) => new(status, typeof(ProblemDetails), ["application/problem+json"]);
}

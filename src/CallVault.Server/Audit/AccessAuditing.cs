using CallVault.Audit;

namespace CallVault.Server.Audit;

/// <summary>Recording accesses in the audit log from the API's handlers.</summary>
internal static class AccessAuditing
{
    /// <summary>The name recorded for a caller the service did not identify (none of the access rules named it).</summary>
    public const string UnnamedCaller = "anonymous";

    /// <summary>How long appending a record may take before the request gives up on it.</summary>
    public static readonly TimeSpan AppendTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The caller's name: the API key's configured name (never the key), or <see cref="UnnamedCaller"/>.</summary>
    public static string CallerName(HttpContext httpContext) =>
        httpContext.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : UnnamedCaller;

    /// <summary>Wraps an answer so that sending it appends an audit record of <paramref name="action"/>.</summary>
    public static IResult Audited(this IResult result, string action, string? recordingKey, string? documentId = null, long? chunkIndex = null) =>
        new AuditedResult(result, new AccessAuditEntry { Who = UnnamedCaller, Action = action, RecordingKey = recordingKey, DocumentId = documentId, ChunkIndex = chunkIndex });

    /// <summary>
    /// Appends one record of a state change now (it has no body to count), by the request's caller. Not cancelled by the
    /// caller going away: the change is made, so its record must be too.
    /// </summary>
    public static async Task RecordAsync(HttpContext httpContext, IAccessAuditLog log, AccessAuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(log);
        using var timeout = new CancellationTokenSource(AppendTimeout, httpContext.RequestServices.GetRequiredService<TimeProvider>());
        await log.AppendAsync([entry with { Who = CallerName(httpContext), RemoteAddress = httpContext.Connection.RemoteIpAddress?.ToString() }], timeout.Token);
    }
}

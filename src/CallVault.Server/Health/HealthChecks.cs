using System.Text.Json;
using CallVault.Acs;
using CallVault.Jobs;
using CallVault.Server.Access;
using CallVault.Server.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CallVault.Server.Health;

/// <summary>
/// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (configuration, database and store). Both are
/// anonymous, so an orchestrator can poll them, and then answer only the overall status (<c>Healthy</c>,
/// <c>Degraded</c>, <c>Unhealthy</c>; 503 when Unhealthy). Each check's description and data (queue sizes, the last
/// event's time, exception text that may name a database host) go only to a caller with the
/// <see cref="AccessPolicies.Reader"/> policy.
/// </summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapCallVaultHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).AllowAnonymous();
        routes.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteAsync }).AllowAnonymous();
        return routes;
    }

    private static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        if (!await MaySeeDetailsAsync(context))
        {
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { status = report.Status.ToString() }));
            return;
        }

        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data }),
        }));
    }

    /// <summary>
    /// Whether the caller may read the checks' details: an authenticated reader (or operator), asking by a host name
    /// the service answers to. The probes skip the host check so that orchestrators can probe by address; without
    /// this, a DNS-rebinding page could read the details through a keyless loopback caller's browser.
    /// </summary>
    private static async Task<bool> MaySeeDetailsAsync(HttpContext context) =>
        context.RequestServices.GetRequiredService<AccessMode>().IsHostAllowed(context.Request.Host)
        && context.User.Identity is { IsAuthenticated: true }
        && (await context.RequestServices.GetRequiredService<IAuthorizationService>().AuthorizeAsync(context.User, AccessPolicies.Reader)).Succeeded;
}

internal sealed class ConfigurationHealthCheck(IOptionsMonitor<CallVaultOptions> options, IOptionsMonitor<AcsClientOptions> acs) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var missing = ConfigurationHealth.Missing(options.CurrentValue, acs.CurrentValue).ToList();
        return Task.FromResult(missing.Count == 0
            ? HealthCheckResult.Healthy("Configured.")
            : HealthCheckResult.Unhealthy(string.Join(" ", missing)));
    }
}

internal sealed class DatabaseHealthCheck(IJobStore jobs, IOptionsMonitor<CallVaultOptions> options, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var statistics = await jobs.Recordings.GetStatisticsAsync(cancellationToken);
            var data = new Dictionary<string, object>
            {
                ["pending"] = statistics.ByState[ChunkState.Pending] + statistics.ByState[ChunkState.Leased],
                ["stored"] = statistics.ByState[ChunkState.Stored],
                ["deadLettered"] = statistics.ByState[ChunkState.DeadLettered],
            };
            if (statistics.LastEventReceivedAt is { } last)
            {
                data["lastEventReceivedAt"] = last;
            }

            var value = options.CurrentValue;
            if (statistics.OldestPendingEventTime is { } oldest)
            {
                data["oldestPendingEventTime"] = oldest;
                var left = oldest + value.AcsRetention - time.GetUtcNow();
                if (left < value.RetentionWarning)
                {
                    return HealthCheckResult.Degraded($"A chunk not yet stored is {(value.AcsRetention - left).TotalHours:0.#} hours old; ACS deletes it after {value.AcsRetention.TotalHours:0} hours.", data: data);
                }
            }

            if (value.Webhook.ExpectEventWithin is { } window && statistics.LastEventReceivedAt is { } lastEvent
                && time.GetUtcNow() - lastEvent is var silence && silence > window)
            {
                return HealthCheckResult.Degraded(
                    $"No event has arrived for {silence.TotalMinutes:0.#} minutes (expected one within {window.TotalMinutes:0.#}); check the Event Grid subscription, the webhook's address and its secret.",
                    data: data);
            }

            return statistics.ByState[ChunkState.DeadLettered] > 0
                ? HealthCheckResult.Degraded($"{statistics.ByState[ChunkState.DeadLettered]} chunk(s) dead-lettered; see /api/recordings.", data: data)
                : HealthCheckResult.Healthy("The job database answers.", data);
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"The job database does not answer: {ex.Message}");
        }
    }
}

internal sealed class StoreHealthCheck(StoreProbeCache probe) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        probe.GetAsync(cancellationToken);
}

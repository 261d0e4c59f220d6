using System.Diagnostics;
using CallVault.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CallVault.Server.Hosting;

/// <summary>
/// CallVault's telemetry in one place: its meter on <c>/metrics</c> always, and, when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, traces (the <c>CallVault</c> source, incoming requests, outgoing HTTP),
/// metrics and logs exported over OTLP as the standard <c>OTEL_*</c> variables say.
/// </summary>
internal static class CallVaultTelemetryExtensions
{
    /// <summary>The configuration key (an environment variable, usually) that switches the OTLP export on.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The service name when <c>OTEL_SERVICE_NAME</c> does not give one.</summary>
    public const string DefaultServiceName = "callvault";

    /// <summary>Registers the meters, activity sources, the Prometheus exporter and, when configured, the OTLP exporter.</summary>
    public static WebApplicationBuilder AddCallVaultTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(CallVaultMetrics.MeterName).AddPrometheusExporter());
        if (!otlp)
        {
            // No tracer provider at all: nobody listens to the sources, so no span is even created.
            return builder;
        }

        telemetry.ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : DefaultServiceName));
        telemetry.WithTracing(tracing => tracing
            .AddSource(CallVaultTelemetry.ActivitySourceName)
            .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = IsTraced)
            .AddHttpClientInstrumentation()
            .AddProcessor(new QueryStringRedaction()));
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeScopes = true;
            logging.IncludeFormattedMessage = true;
        });

        // One exporter for traces, metrics and logs; it reads the endpoint, protocol, headers and timeouts from the
        // standard OTEL_EXPORTER_OTLP_* settings.
        telemetry.UseOtlpExporter();
        return builder;
    }

    /// <summary>Probes and scrapes (every few seconds, each its own trace) would bury the recordings' traces.</summary>
    private static bool IsTraced(HttpContext context) =>
        !context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
        && !context.Request.Path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Drops query strings from every span before export: the webhook's key arrives as <c>?code=</c>, and signed
    /// storage URLs carry their signature in the query.
    /// </summary>
    private sealed class QueryStringRedaction : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            if (data.GetTagItem("url.query") is not null)
            {
                data.SetTag("url.query", null);
            }

            if (data.GetTagItem("url.full") is string full && full.IndexOf('?', StringComparison.Ordinal) is var question and >= 0)
            {
                data.SetTag("url.full", full[..question]);
            }

            if (data.DisplayName.IndexOf('?', StringComparison.Ordinal) is var inName and >= 0)
            {
                data.DisplayName = data.DisplayName[..inName];
            }
        }
    }
}

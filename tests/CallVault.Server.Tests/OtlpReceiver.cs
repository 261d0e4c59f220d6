using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CallVault.Server.Tests;

/// <summary>
/// A small OTLP/HTTP receiver (<c>http/protobuf</c>) on a free loopback port: keeps every export body by signal and
/// decodes the spans of <c>/v1/traces</c>. Only the OTLP fields a test reads are decoded; the rest is skipped by the
/// protobuf wire format's own rules, so a field added by a newer exporter does not break it.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Signal, byte[] Body)> _bodies = new();
    private readonly ConcurrentQueue<OtlpSpan> _spans = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>Where the exporter sends to (the <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> value).</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<OtlpSpan> Spans => [.. _spans];

    /// <summary>Every export body received so far, by signal (<c>traces</c>, <c>metrics</c>, <c>logs</c>).</summary>
    public IReadOnlyList<(string Signal, byte[] Body)> Bodies => [.. _bodies];

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            if (!string.Equals(request.ContentType, "application/x-protobuf", StringComparison.OrdinalIgnoreCase))
            {
                return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
            }

            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            receiver._bodies.Enqueue((signal, body));
            if (signal == "traces")
            {
                foreach (var span in OtlpSpan.ReadExportTraceServiceRequest(body))
                {
                    receiver._spans.Enqueue(span);
                }
            }

            // An empty Export*ServiceResponse: everything accepted.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Endpoint = new Uri(address.TrimEnd('/') + "/");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One received span: its ids (lower-case hex), name, kind, service and attributes (as text).</summary>
public sealed record OtlpSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, string ServiceName, string Scope, IReadOnlyDictionary<string, string> Attributes)
{
    /// <summary>OTLP's <c>SPAN_KIND_SERVER</c>.</summary>
    public const int KindServer = 2;

    public string? this[string attribute] => Attributes.TryGetValue(attribute, out var value) ? value : null;

    public override string ToString() => $"{Name} trace={TraceId} span={SpanId} parent={ParentSpanId} [{string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}"))}]";

    /// <summary>Decodes <c>opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest</c>.</summary>
    public static List<OtlpSpan> ReadExportTraceServiceRequest(byte[] body)
    {
        var spans = new List<OtlpSpan>();

        // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
        foreach (var resourceSpans in Messages(body, 1))
        {
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            var service = Messages(resourceSpans, 1).Select(resource => KeyValues(resource, 1)).FirstOrDefault()?.GetValueOrDefault("service.name") ?? string.Empty;
            foreach (var scopeSpans in Messages(resourceSpans, 2))
            {
                // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }; InstrumentationScope { string name = 1; }
                var scope = Messages(scopeSpans, 1).Select(s => Strings(s, 1).FirstOrDefault()).FirstOrDefault() ?? string.Empty;
                spans.AddRange(Messages(scopeSpans, 2).Select(span => ReadSpan(span, service, scope)));
            }
        }

        return spans;
    }

    /// <summary>Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6; repeated KeyValue attributes = 9; }</summary>
    private static OtlpSpan ReadSpan(byte[] span, string service, string scope)
    {
        string traceId = string.Empty, spanId = string.Empty, parent = string.Empty, name = string.Empty;
        var kind = 0;
        var input = new CodedInputStream(span);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: traceId = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 2 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: spanId = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 4 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: parent = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 5 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: name = input.ReadString(); break;
                case 6 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint: kind = input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        }

        return new OtlpSpan(traceId, spanId, parent, name, kind, service, scope, KeyValues(span, 9));
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2; } in field <paramref name="field"/> of <paramref name="message"/>.</summary>
    private static Dictionary<string, string> KeyValues(byte[] message, int field)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var keyValue in Messages(message, field))
        {
            var key = Strings(keyValue, 1).FirstOrDefault() ?? string.Empty;
            values[key] = Messages(keyValue, 2).Select(AnyValueText).FirstOrDefault() ?? string.Empty;
        }

        return values;
    }

    /// <summary>AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ... } }, as text.</summary>
    private static string AnyValueText(byte[] anyValue)
    {
        var input = new CodedInputStream(anyValue);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: return input.ReadString();
                case 2: return input.ReadBool() ? "true" : "false";
                case 3: return input.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 4: return input.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);
                default: input.SkipLastField(); break;
            }
        }

        return string.Empty;
    }

    /// <summary>The embedded messages in field <paramref name="field"/>, in order.</summary>
    private static List<byte[]> Messages(byte[] message, int field)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return found;
    }

    private static List<string> Strings(byte[] message, int field) => [.. Messages(message, field).Select(System.Text.Encoding.UTF8.GetString)];
}

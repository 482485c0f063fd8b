using System.Collections.Concurrent;
using KeelPortal.Sandbox.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>One span as an OTLP exporter sent it.</summary>
public sealed record ReceivedSpan(string TraceId, string SpanId, string? ParentSpanId, string Name, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// An OTLP/HTTP trace receiver on a loopback port (bound to port 0): decodes the protobuf
/// <c>ExportTraceServiceRequest</c> bodies posted to <c>/v1/traces</c> into spans.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedSpan> spans = new();

    private OtlpCollector()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            Decode(body.ToArray());
            context.Response.ContentType = "application/x-protobuf";
            return Results.Bytes([], "application/x-protobuf");
        });
    }

    public string Url { get; private set; } = "";

    public IReadOnlyList<ReceivedSpan> Spans => spans.ToArray();

    public static async Task<OtlpCollector> StartAsync()
    {
        var collector = new OtlpCollector();
        await collector.app.StartAsync();
        collector.Url = Loopback.Address(collector.app);
        return collector;
    }

    private void Decode(byte[] request)
    {
        foreach (var (field, resourceSpans) in KubeProtobuf.Fields(request))
        {
            if (field != 1)
            {
                continue;
            }
            foreach (var (scopeField, scopeSpans) in KubeProtobuf.Fields(resourceSpans.Bytes!))
            {
                if (scopeField != 2)
                {
                    continue;
                }
                foreach (var (spanField, span) in KubeProtobuf.Fields(scopeSpans.Bytes!))
                {
                    if (spanField == 2)
                    {
                        spans.Enqueue(Span(span.Bytes!));
                    }
                }
            }
        }
    }

    private static ReceivedSpan Span(byte[] span)
    {
        string traceId = "", spanId = "", name = "";
        string? parent = null;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, value) in KubeProtobuf.Fields(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value.Bytes!); break;
                case 2: spanId = Convert.ToHexStringLower(value.Bytes!); break;
                case 4: parent = value.Bytes is { Length: > 0 } p ? Convert.ToHexStringLower(p) : null; break;
                case 5: name = value.Text!; break;
                case 9:
                    string key = "", text = "";
                    foreach (var (f, v) in KubeProtobuf.Fields(value.Bytes!))
                    {
                        if (f == 1)
                        {
                            key = v.Text!;
                        }
                        else if (f == 2)
                        {
                            foreach (var (anyField, any) in KubeProtobuf.Fields(v.Bytes!))
                            {
                                text = anyField == 1 ? any.Text! : any.Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
                            }
                        }
                    }
                    attributes[key] = text;
                    break;
            }
        }
        return new ReceivedSpan(traceId, spanId, parent, name, attributes);
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}

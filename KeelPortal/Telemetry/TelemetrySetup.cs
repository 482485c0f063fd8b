using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace KeelPortal.Telemetry;

/// <summary>
/// OpenTelemetry: metrics (the portal's meter, ASP.NET Core, HttpClient, runtime) served at <c>/metrics</c> for
/// Prometheus; traces (the portal's source, ASP.NET Core, HttpClient) exported over OTLP when the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class TelemetrySetup
{
    private static readonly string[] OutboundTags =
        [
            "http.request.method", "http.response.status_code", "error.type", "network.protocol.name", "network.protocol.version",
            "network.transport", "network.type", "url.scheme", "http.connection.state", "tls.protocol.version",
        ];

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PortalMetrics>();
        builder.Services.AddSingleton<QueueDepth>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("keelportal"))
            .WithMetrics(metrics => metrics
                .AddMeter(PortalTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                // Outbound HTTP, name lookups and connections are counted without whom they went to or came through (servers, ports, hosts).
                .AddView(instrument => instrument.Meter.Name is "System.Net.Http" or "System.Net.NameResolution" or "Microsoft.AspNetCore.Server.Kestrel"
                    ? new MetricStreamConfiguration { TagKeys = OutboundTags }
                    : null)
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddSource(PortalTelemetry.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Request.Path != "/metrics")
                .AddHttpClientInstrumentation()
                .AddProcessor(sp => OtlpProcessor(sp.GetRequiredService<IConfiguration>())));
        return builder;
    }

    /// <summary>
    /// Spans go to the OTLP endpoint the standard variables name (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>_PROTOCOL</c>,
    /// <c>OTEL_BSP_SCHEDULE_DELAY</c>), read from configuration when the portal starts; without an endpoint nowhere.
    /// </summary>
    private static BaseProcessor<System.Diagnostics.Activity> OtlpProcessor(IConfiguration configuration)
    {
        if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is not { Length: > 0 } endpoint)
        {
            return new NoExport();
        }
        var http = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] is "http/protobuf";
        var options = new OtlpExporterOptions
        {
            Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc,
            // Set in code, the endpoint is used as given: OTLP/HTTP's traces path is added as the variable's reading would.
            Endpoint = new Uri(http ? endpoint.TrimEnd('/') + "/v1/traces" : endpoint),
        };
        var delay = int.TryParse(configuration["OTEL_BSP_SCHEDULE_DELAY"], out var milliseconds) && milliseconds > 0 ? milliseconds : 5000;
        return new BatchActivityExportProcessor(new OtlpTraceExporter(options), scheduledDelayMilliseconds: delay);
    }

    private sealed class NoExport : BaseProcessor<System.Diagnostics.Activity>;

    public static WebApplication MapTelemetry(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value;
        _ = app.Services.GetRequiredService<QueueDepth>();
        if (!options.Enabled)
        {
            return app;
        }
        app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(MetricsPolicy).DisableAntiforgery();
        return app;
    }

    /// <summary>The authorization policy of <c>/metrics</c> (defined where accounts are): see <see cref="OpenToAnyone"/>.</summary>
    public const string MetricsPolicy = "metrics";

    /// <summary>
    /// Whether this request may read the metrics without an account: it arrived on <see cref="TelemetryOptions.Port"/>
    /// (the connection's own local port, not the Host header a client writes), or it carries the metrics bearer token.
    /// </summary>
    public static bool OpenToAnyone(HttpContext? context)
    {
        if (context is null)
        {
            return false;
        }
        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value;
        if (options.Port is { } port && context.Connection.LocalPort == port)
        {
            return true;
        }
        var header = context.Request.Headers.Authorization.FirstOrDefault();
        return options.Token is { Length: > 0 } token && header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()), System.Text.Encoding.UTF8.GetBytes(token));
    }
}

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
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<QueueDepth>();
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("keelportal"))
            .WithMetrics(metrics => metrics
                .AddMeter(PortalTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(PortalTelemetry.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Request.Path != "/metrics")
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }
        return builder;
    }

    public static WebApplication MapTelemetry(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value;
        _ = app.Services.GetRequiredService<QueueDepth>();
        if (!options.Enabled)
        {
            return app;
        }
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous().DisableAntiforgery();
        if (options.Port is { } port)
        {
            endpoint.RequireHost($"*:{port}");
        }
        return app;
    }
}

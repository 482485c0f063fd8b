using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace KeelPortal.Health;

public static class HealthSetup
{
    private const string Ready = "ready";

    public static WebApplicationBuilder AddHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HealthOptions>()
            .BindConfiguration(HealthOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<Drain>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Drain>());
        builder.Services.AddHealthChecks()
            .AddCheck<Drain>("draining", tags: [Ready])
            .AddCheck<DatabaseReadyCheck>("database", tags: [Ready])
            .AddCheck<JobServerCheck>("jobs", tags: [Ready])
            .AddCheck<ClusterCheck>("cluster", tags: [Ready])
            .AddCheck<RegistriesCheck>("registries", tags: [Ready])
            .AddCheck<PubSubCheck>("pubsub", tags: [Ready]);
        return builder;
    }

    public static WebApplication MapHealth(this WebApplication app)
    {
        // Liveness runs no checks: the process answering is the answer.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Ready),
            ResponseWriter = HealthResponse.WriteAsync,
        });
        return app;
    }
}

using KeelPortal.Data;

namespace KeelPortal.Triggers;

public static class TriggersSetup
{
    public static WebApplicationBuilder AddTriggers(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TriggersOptions>().BindConfiguration(TriggersOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<WebhookBursts>();
        builder.Services.AddSingleton<WebhookTraffic>();
        builder.Services.AddTransient<PollRepositoryJob>();
        builder.Services.AddSingleton<WebhookPlanners>();
        builder.Services.AddTransient<WebhookWork>();
        builder.Services.AddHandler<WebhookReceived, WebhookWork>();
        builder.Services.AddSingleton<WebhookInbox>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookInbox>());
        builder.Services.AddSingleton<PollScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PollScheduler>());
        return builder;
    }

    public static WebApplication MapTriggers(this WebApplication app)
    {
        app.MapWebhooks();
        return app;
    }
}

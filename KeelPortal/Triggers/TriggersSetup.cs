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
        builder.Services.AddTransient<WebhookWork>();
        builder.Services.AddTransient<Data.IEventWork, WebhookWork>();
        builder.Services.Configure<Data.OutboxTypes>(t => t.Add<WebhookReceived>(_ => true));
        builder.Services.AddSingleton<WebhookPlanning>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookPlanning>());
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

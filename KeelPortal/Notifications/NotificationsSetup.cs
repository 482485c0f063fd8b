using Microsoft.Extensions.Options;

namespace KeelPortal.Notifications;

public static class NotificationsSetup
{
    public static WebApplicationBuilder AddNotifications(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<NotificationsOptions>()
            .BindConfiguration(NotificationsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<NotificationsOptions>, ConfiguredChannelsValidation>();
        builder.Services.AddSingleton<ConfiguredChannels>();
        builder.Services.AddSingleton<ChannelDirectory>();
        builder.Services.AddTransient<NotificationCenter>();
        builder.Services.AddTransient<NotificationSources>();
        // No logging handlers: the request line would carry the webhook URL, which is a secret.
        builder.Services.AddHttpClient<HttpNotifier>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .RemoveAllLoggers();
        builder.Services.AddSingleton<EmailNotifier>();
        builder.Services.AddTransient<INotifier, ChannelNotifier>();
        builder.Services.Configure<Data.OutboxTypes>(t => t.Add<NotificationChannelsChanged>());
        NotificationWork.Register(builder.Services);
        return builder;
    }
}

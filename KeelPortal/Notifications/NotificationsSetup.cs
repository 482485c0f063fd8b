using Hangfire;
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
        builder.Services.AddTransient<DeliveryJob>();
        // No logging handlers: the request line would carry the webhook URL, which is a secret.
        builder.Services.AddHttpClient<INotifier, HttpNotifier>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .RemoveAllLoggers();
        builder.Services.Configure<Data.OutboxTypes>(t => t.Add<NotificationChannelsChanged>());
        builder.Services.Configure<Data.OutboxTypes>(NotificationWork.Register);
        builder.Services.AddTransient<Data.IEventWork, NotificationWork>();
        builder.Services.AddHostedService<DeliveryResume>();
        // Servers of their own: deliveries never take the workers polls and applies need. The single worker of the
        // events queue runs event jobs that earlier versions enqueued (events now reach NotificationWork by the outbox).
        AddServer(builder, DeliveryJob.Queue, sp => sp.GetRequiredService<IOptions<NotificationsOptions>>().Value.WorkerCount);
        AddServer(builder, NotificationSources.Queue, _ => 1);
        return builder;
    }

    private static void AddServer(WebApplicationBuilder builder, string queue, Func<IServiceProvider, int> workers) =>
        builder.Services.AddHangfireServer((sp, server) =>
        {
            server.Queues = [queue];
            server.WorkerCount = workers(sp);
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:{queue}";
            // Workers only: the main server already moves delayed and recurring jobs (of every queue) and expires old ones.
            server.IsLightweightServer = true;
        });
}

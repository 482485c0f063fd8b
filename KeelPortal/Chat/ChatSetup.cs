using KeelPortal.Notifications;

namespace KeelPortal.Chat;

public static class ChatSetup
{
    public static WebApplicationBuilder AddChat(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ChatLinks>();
        builder.Services.AddSingleton<ChatTokens>();
        builder.Services.AddTransient<ChatVoting>();
        builder.Services.AddSingleton<ChatActionsFactory>();
        builder.Services.AddSingleton<IChatActions>(sp => sp.GetRequiredService<ChatActionsFactory>());
        // No logging handlers: Slack's response_url is a bearer of the message it updates.
        builder.Services.AddHttpClient(nameof(ChatEndpoints))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllLoggers();
        return builder;
    }
}

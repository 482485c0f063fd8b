using KeelPortal.Data;
using KeelPortal.Notifications;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

public static class ChatSetup
{
    public static WebApplicationBuilder AddChat(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IPostConfigureOptions<ChatOptions>, ChatKeelNames>();
        builder.Services.AddSingleton<IValidateOptions<ChatOptions>, SlackSocketValidation>();
        builder.Services.AddSingleton<ChatLinks>();
        builder.Services.AddSingleton<ChatTokens>();
        builder.Services.AddTransient<ChatVoting>();
        builder.Services.AddTransient<SlackBot>();
        builder.Services.AddSingleton<SlackIdentity>();
        builder.Services.AddSingleton<ChatActionsFactory>();
        builder.Services.AddSingleton<IChatActions>(sp => sp.GetRequiredService<ChatActionsFactory>());
        // No logging handlers: the tokens, the socket's ticket and Slack's response_url are bearers.
        builder.Services.AddHttpClient<SlackWebApi>()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllLoggers();
        // One lane: a person's messages are answered in the order Slack sent them.
        builder.Services.AddHandler<SlackEnvelopeReceived, SlackBot>(lane: "slack");
        builder.Services.AddSingleton<SlackSocket>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SlackSocket>());
        return builder;
    }
}

/// <summary>Keel's names for the Slack bot's settings, taken when KeelPortal's own are unset: <c>SLACK_BOT_TOKEN</c> (or <c>SLACK_TOKEN</c>), <c>SLACK_APPROVALS_CHANNEL</c>, <c>SLACK_BOT_NAME</c>.</summary>
internal sealed class ChatKeelNames(IConfiguration configuration) : IPostConfigureOptions<ChatOptions>
{
    public void PostConfigure(string? name, ChatOptions options)
    {
        options.SlackBotToken = Blank(options.SlackBotToken) ?? Blank(configuration["SLACK_BOT_TOKEN"]) ?? Blank(configuration["SLACK_TOKEN"]);
        options.SlackApprovalsChannel = Blank(options.SlackApprovalsChannel) ?? Blank(configuration["SLACK_APPROVALS_CHANNEL"]);
        options.SlackBotName = Blank(options.SlackBotName) ?? Blank(configuration["SLACK_BOT_NAME"]);
        options.SlackAppToken = Blank(options.SlackAppToken);
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>Socket Mode needs both of Slack's tokens, each of its kind: start-up stops naming what is wrong (never the token).</summary>
internal sealed class SlackSocketValidation : IValidateOptions<ChatOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatOptions options)
    {
        if (options.SlackAppToken is null)
        {
            return ValidateOptionsResult.Success;
        }
        var problems = new List<string>();
        if (!options.SlackAppToken.StartsWith("xapp-", StringComparison.Ordinal))
        {
            problems.Add("Chat:SlackAppToken (Keel's SLACK_APP_TOKEN) must be the Slack app's app-level token, starting with xapp-.");
        }
        if (options.SlackBotToken is null)
        {
            problems.Add("Chat:SlackAppToken needs the bot token the bot answers with: set Chat:SlackBotToken (or Keel's SLACK_BOT_TOKEN), starting with xoxb-.");
        }
        else if (!options.SlackBotToken.StartsWith("xoxb-", StringComparison.Ordinal))
        {
            problems.Add("Chat:SlackBotToken (Keel's SLACK_BOT_TOKEN or SLACK_TOKEN) must be a bot token, starting with xoxb-.");
        }
        return problems.Count > 0 ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}

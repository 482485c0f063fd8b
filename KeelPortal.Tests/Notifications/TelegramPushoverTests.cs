using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Notifications;

/// <summary>
/// Telegram and Pushover channels against imitations of their APIs (the paths and fields the real ones read, their
/// refusals), added in the console's directory or from Keel's shoutrrr URLs.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class TelegramPushoverTests
{
    private const string BotToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    private const string AppToken = "azGDORePK8gMaC0QOYAMyEEuzJnyUi";
    private const string UserKey = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG";

    private static ChannelInput Input(string name, ChannelType type, string target, string? channel) =>
        new(null, name, type, target, channel, null, null, NotificationEvents.All, NotificationLevel.Info, true, true);

    [Fact]
    public async Task A_telegram_chat_and_a_pushover_user_receive_the_notification_and_a_refusal_is_final_without_the_token()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer($"tg/bot{BotToken}/sendMessage", (400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}"), (200, "{\"ok\":true}"));
        receiver.Answer("po/1/messages.json", (200, "{\"status\":1,\"request\":\"647d2300\"}"));
        using var portal = NotificationHost.Portal()
            .With("Notifications:TelegramApiUrl", receiver.Url("tg/").AbsoluteUri)
            .With("Notifications:PushoverApiUrl", receiver.Url("po/1/messages.json").AbsoluteUri);
        await portal.AddAsync(Input("tg", ChannelType.Telegram, BotToken, "@deploys"));
        await portal.AddAsync(Input("po", ChannelType.Pushover, AppToken, UserKey));

        await portal.RaiseAsync("test:failed", NotificationHost.UpdateApplied() with { Level = NotificationLevel.Error });
        var refused = await portal.DeliveryAsync("tg", d => d.State == DeliveryState.Failed);
        var pushed = await portal.DeliveryAsync("po", d => d.State == DeliveryState.Delivered);

        Assert.Equal((1, 400), (refused.Attempts, refused.StatusCode));
        Assert.Contains("chat not found", refused.Answer, StringComparison.Ordinal);
        Assert.DoesNotContain(BotToken, refused.Answer, StringComparison.Ordinal);
        var sent = Assert.Single(receiver.At($"tg/bot{BotToken}/sendMessage")).Json;
        Assert.Equal("@deploys", sent["chat_id"]!.GetValue<string>());
        Assert.StartsWith("Update applied", sent["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var push = Assert.Single(receiver.At("po/1/messages.json")).Json;
        Assert.Equal((AppToken, UserKey, 1), (push["token"]!.GetValue<string>(), push["user"]!.GetValue<string>(), push["priority"]!.GetValue<int>()));
        Assert.Equal(1, pushed.Attempts);
    }

    [Fact]
    public async Task A_chat_or_user_key_missing_is_the_channel_fields_problem()
    {
        using var portal = NotificationHost.Portal();
        var directory = portal.Services.GetRequiredService<ChannelDirectory>();

        var telegram = await directory.SaveAsync(Input("tg", ChannelType.Telegram, BotToken, null), "admin");
        var pushover = await directory.SaveAsync(Input("po", ChannelType.Pushover, "short", UserKey), "admin");

        Assert.Contains("enter the chat", telegram.Fields!["channel"], StringComparison.Ordinal);
        Assert.Contains("API token (30 letters and digits)", pushover.Fields!["target"], StringComparison.Ordinal);
    }

    [Fact]
    public void Shoutrrr_telegram_urls_give_a_channel_per_chat_and_pushover_urls_a_user_channel()
    {
        var (channels, errors) = ShoutrrrUrls.Parse(
            $"telegram://{BotToken}@telegram?chats=@deploys,-1001234 pushover://shoutrrr:{AppToken}@{UserKey}/ pushover://shoutrrr:{AppToken}@{UserKey}/?devices=phone");

        Assert.Equal(
            [("shoutrrr-1-telegram-1", ChannelType.Telegram, BotToken, "@deploys"), ("shoutrrr-1-telegram-2", ChannelType.Telegram, BotToken, "-1001234"),
             ("shoutrrr-2-pushover", ChannelType.Pushover, AppToken, UserKey)],
            channels.Select(c => (c.Name, c.Type, c.Target, c.Channel)));
        Assert.StartsWith("SHOUTRRR_URLS entry 3 (pushover): Pushover devices are not taken", Assert.Single(errors), StringComparison.Ordinal);
    }
}

using KeelPortal.Notifications;

namespace KeelPortal.Tests.Chat;

/// <summary>Where each kind of channel puts an approval's decision, and that only an approval request carries one.</summary>
public sealed class ChatMessagesTests
{
    private static readonly ChatActions Links = new(false, null, null, null, "https://keel.example.com/approvals/decide?token=A", "https://keel.example.com/approvals/decide?token=R");

    private static Notification Asking(NotificationEvents e = NotificationEvents.ApprovalRequired) => new(
        e, NotificationLevel.Info, "New image is available for deployment shop/web (1.0.0 -> 1.1.0): 2 vote(s) needed by 2026-12-02 12:00 UTC.",
        "deployment", "shop", "web", "1.0.0", "1.1.0", "0/2", new DateTime(2026, 12, 2, 12, 0, 0, DateTimeKind.Utc), null, "approvals#approval-7",
        new DateTime(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc), 7);

    private static ChannelSettings Channel(ChannelType type) => new("c", type, "https://example.com/hook", null, null, null, NotificationEvents.All, NotificationLevel.Debug, true, true, "test");

    [Fact]
    public void Discord_and_webhooks_carry_the_signed_links_and_other_events_carry_none()
    {
        var baseUrl = new Uri("https://keel.example.com/");
        var discord = MessageComposer.Compose(Asking(), Channel(ChannelType.Discord), baseUrl, Links);
        Assert.EndsWith("[Approve](https://keel.example.com/approvals/decide?token=A) · [Reject](https://keel.example.com/approvals/decide?token=R)",
            discord["embeds"]![0]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        var webhook = MessageComposer.Compose(Asking(), Channel(ChannelType.Webhook), baseUrl, Links);
        Assert.Equal(("https://keel.example.com/approvals/decide?token=A", "https://keel.example.com/approvals/decide?token=R"),
            (webhook["metadata"]!["approveLink"]!.GetValue<string>(), webhook["metadata"]!["rejectLink"]!.GetValue<string>()));

        var applied = MessageComposer.Compose(Asking(NotificationEvents.UpdateApplied), Channel(ChannelType.Webhook), baseUrl, Links);
        Assert.Null(applied["metadata"]!["approveLink"]);
        var slack = MessageComposer.Compose(Asking(NotificationEvents.Approved), Channel(ChannelType.Slack), baseUrl, new ChatActions(true, null, null, null, null, null));
        Assert.DoesNotContain(MessageComposer.ApproveActionId, slack.ToJsonString(), StringComparison.Ordinal);
        // Without actions the message is exactly what it was before (the golden files hold it).
        Assert.Equal(MessageComposer.Compose(Asking(), Channel(ChannelType.Discord), baseUrl).ToJsonString(),
            MessageComposer.Compose(Asking(), Channel(ChannelType.Discord), baseUrl, null).ToJsonString());
    }
}

using System.Globalization;
using KeelPortal.Notifications;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

/// <summary>The decisions an approval message carries on each kind of channel (see <see cref="ChatActions"/>).</summary>
public sealed class ChatActionsFactory(ChatTokens tokens, IOptions<ChatOptions> options, IOptions<NotificationsOptions> notifications, TimeProvider time)
    : IChatActions
{
    public const string MattermostPath = "v1/chat/mattermost/actions";

    public ChatActions? ActionsFor(Notification notification, ChannelSettings channel)
    {
        ArgumentNullException.ThrowIfNull(notification);
        ArgumentNullException.ThrowIfNull(channel);
        if (notification is not { Event: NotificationEvents.ApprovalRequired, ApprovalId: { } id })
        {
            return null;
        }
        var o = options.Value;
        var baseUrl = notifications.Value.PublicBaseUrl;
        var expires = Expiry(notification.DeadlineUtc);
        var subject = id.ToString(CultureInfo.InvariantCulture);
        switch (channel.Type)
        {
            case ChannelType.Slack:
                // Clicks reach the portal through the signed Interactivity URL or over Socket Mode.
                return string.IsNullOrEmpty(o.SlackSigningSecret) && string.IsNullOrEmpty(o.SlackAppToken) ? null : new ChatActions(true, null, null, null, null, null);
            case ChannelType.Mattermost when o.MattermostActions && baseUrl is not null:
                return new ChatActions(false, new Uri(baseUrl, MattermostPath),
                    tokens.Create(ChatTokens.Action, subject, "approve", expires), tokens.Create(ChatTokens.Action, subject, "reject", expires), null, null);
            default:
                return o.SignedLinks && baseUrl is not null
                    ? new ChatActions(false, null, null, null, DecisionLink(baseUrl, subject, "approve", expires), DecisionLink(baseUrl, subject, "reject", expires))
                    : null;
        }
    }

    /// <summary>A link that opens the approval in the console with the decision ready to confirm.</summary>
    public string DecisionLink(Uri baseUrl, string approvalId, string decision, DateTime expiresUtc) =>
        new Uri(baseUrl, $"approvals/decide?token={Uri.EscapeDataString(tokens.Create(ChatTokens.Decision, approvalId, decision, expiresUtc))}").AbsoluteUri;

    private DateTime Expiry(DateTime? deadlineUtc)
    {
        var longest = time.GetUtcNow().UtcDateTime + options.Value.LinkLifetime;
        return deadlineUtc is { } deadline && deadline < longest ? deadline : longest;
    }
}

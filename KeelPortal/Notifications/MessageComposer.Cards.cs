using System.Globalization;
using System.Text.Json.Nodes;

namespace KeelPortal.Notifications;

public static partial class MessageComposer
{
    /// <summary>An Adaptive Card in a message, as Teams' workflow webhooks take it (colour as the title's emphasis).</summary>
    private static JsonObject Teams(Notification n, string? link, ChatActions? decide)
    {
        var body = new JsonArray
        {
            new JsonObject { ["type"] = "TextBlock", ["text"] = n.Title, ["weight"] = "Bolder", ["size"] = "Medium", ["color"] = TeamsColor(n.Level), ["wrap"] = true },
            new JsonObject { ["type"] = "TextBlock", ["text"] = MarkdownText(n.Message), ["wrap"] = true },
        };
        var facts = n.Facts();
        if (facts.Count > 0)
        {
            body.Add(new JsonObject
            {
                ["type"] = "FactSet",
                ["facts"] = new JsonArray(facts.Select(f => (JsonNode)new JsonObject { ["title"] = f.Name, ["value"] = MarkdownText(f.Value) }).ToArray()),
            });
        }
        var card = new JsonObject
        {
            ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
            ["type"] = "AdaptiveCard",
            ["version"] = "1.4",
            ["body"] = body,
        };
        var cardActions = new JsonArray();
        if (decide is { ApproveLink: { } approve, RejectLink: { } reject })
        {
            cardActions.Add(new JsonObject { ["type"] = "Action.OpenUrl", ["title"] = "Approve", ["url"] = approve, ["style"] = "positive" });
            cardActions.Add(new JsonObject { ["type"] = "Action.OpenUrl", ["title"] = "Reject", ["url"] = reject, ["style"] = "destructive" });
        }
        if (link is not null)
        {
            cardActions.Add(new JsonObject { ["type"] = "Action.OpenUrl", ["title"] = OpenLabel, ["url"] = link });
        }
        if (cardActions.Count > 0)
        {
            card["actions"] = cardActions;
        }
        return new JsonObject
        {
            ["type"] = "message",
            ["summary"] = $"{n.Title}: {PlainText(n.Message)}",
            ["attachments"] = new JsonArray(new JsonObject { ["contentType"] = "application/vnd.microsoft.card.adaptive", ["content"] = card }),
        };
    }

    private static string TeamsColor(NotificationLevel level) => level switch
    {
        NotificationLevel.Error or NotificationLevel.Fatal => "Attention",
        NotificationLevel.Warn => "Warning",
        NotificationLevel.Success => "Good",
        _ => "Accent",
    };

    /// <summary>A Discord embed: title (linked), the sentence, inline fields, Keel's colour.</summary>
    private static JsonObject Discord(Notification n, ChannelSettings channel, string? link, ChatActions? decide)
    {
        var message = MarkdownText(n.Message);
        var description = decide is { ApproveLink: { } approve, RejectLink: { } reject } ? $"{message}\n\n[Approve]({approve}) · [Reject]({reject})" : message;
        var embed = new JsonObject { ["title"] = n.Title, ["description"] = description };
        AddIfSet(embed, "url", link);
        embed["color"] = int.Parse(n.Level.Color().AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        embed["fields"] = new JsonArray(n.Facts().Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["value"] = MarkdownText(f.Value), ["inline"] = true }).ToArray());
        embed["timestamp"] = Timestamp(n.CreatedAtUtc);
        embed["footer"] = new JsonObject { ["text"] = "KeelPortal" };
        var body = new JsonObject { ["username"] = channel.Username ?? "KeelPortal" };
        AddIfSet(body, "avatar_url", channel.IconUrl);
        body["embeds"] = new JsonArray(embed);
        // Whatever the text says, Discord pings no one (@everyone, @here, users, roles).
        body["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() };
        return body;
    }

    /// <summary>Keel's generic webhook event: <c>name, message, createdAt, type, level, resourceKind, identifier, metadata</c>.</summary>
    private static JsonObject Keel(Notification n, string? link, ChatActions? decide)
    {
        var metadata = new JsonObject { ["provider"] = n.ResourceKind == "chart" ? "helm" : "kubernetes", ["event"] = n.Event.ToString() };
        AddIfSet(metadata, "namespace", n.Namespace);
        AddIfSet(metadata, "name", n.Name);
        AddIfSet(metadata, "from", n.FromVersion);
        AddIfSet(metadata, "to", n.ToVersion);
        AddIfSet(metadata, "votes", n.Votes);
        AddIfSet(metadata, "deadline", n.DeadlineUtc is { } d ? Timestamp(d) : null);
        AddIfSet(metadata, "releaseNotes", Registries.SafeLink.ForMessage(n.ReleaseNotes));
        AddIfSet(metadata, "link", link);
        AddIfSet(metadata, "approveLink", decide?.ApproveLink);
        AddIfSet(metadata, "rejectLink", decide?.RejectLink);
        return new JsonObject
        {
            ["name"] = n.Event is NotificationEvents.UpdateApplied or NotificationEvents.UpdateFailed ? "update resource" : n.Title.ToLowerInvariant(),
            ["message"] = n.Message,
            ["createdAt"] = Timestamp(n.CreatedAtUtc),
            ["type"] = n.Event.KeelType(),
            ["level"] = n.Level.KeelName(),
            ["resourceKind"] = n.ResourceKind ?? "",
            ["identifier"] = n.Identifier ?? "",
            ["metadata"] = metadata,
        };
    }
}

/// <summary>
/// What an approval request may carry besides its text, worked out per message by the chat slice: Slack buttons (the
/// portal answers Slack's interactivity requests), Mattermost actions with a secret per message and decision, and
/// signed, expiring links that open the decision in the console (sign-in still required).
/// </summary>
public sealed record ChatActions(
    bool SlackButtons, Uri? MattermostActionUrl, string? MattermostApproveSecret, string? MattermostRejectSecret, string? ApproveLink, string? RejectLink);

/// <summary>Works out <see cref="ChatActions"/> for one message to one channel; null when it carries none.</summary>
public interface IChatActions
{
    ChatActions? ActionsFor(Notification notification, ChannelSettings channel);
}

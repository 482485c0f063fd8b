using System.Globalization;
using System.Text.Json.Nodes;

namespace KeelPortal.Notifications;

/// <summary>
/// Turns a notification into the JSON body each service's incoming webhook takes. Pure: the same notification and
/// channel always give the same bytes (the golden files in the tests hold them).
/// </summary>
public static partial class MessageComposer
{
    public const string OpenLabel = "Open in KeelPortal";

    public const string ApproveActionId = "keelportal.approve";
    public const string RejectActionId = "keelportal.reject";

    /// <summary>
    /// The body for <paramref name="channel"/>; with <paramref name="actions"/> an approval request carries its decision:
    /// Slack buttons, Mattermost actions with their per-message secrets, or signed links for the other services.
    /// </summary>
    public static JsonObject Compose(Notification n, ChannelSettings channel, Uri? publicBaseUrl, ChatActions? actions = null)
    {
        ArgumentNullException.ThrowIfNull(n);
        ArgumentNullException.ThrowIfNull(channel);
        var link = LinkOf(n, publicBaseUrl);
        var decide = n.Event == NotificationEvents.ApprovalRequired && n.ApprovalId is not null ? actions : null;
        return channel.Type switch
        {
            ChannelType.Slack => Slack(n, channel, link, decide),
            ChannelType.Mattermost => Mattermost(n, channel, link, decide),
            ChannelType.Teams => Teams(n, link, decide),
            ChannelType.Discord => Discord(n, channel, link, decide),
            ChannelType.Telegram => new JsonObject { ["chat_id"] = channel.Channel, ["text"] = PlainText(n, link), ["disable_web_page_preview"] = true },
            ChannelType.Pushover => Pushover(n, channel, link),
            _ => Keel(n, link, decide),
        };
    }

    /// <summary>The message as plain text: title, sentence, facts, link (e-mail's text part, Telegram, Pushover).</summary>
    public static string PlainText(Notification n, string? link)
    {
        ArgumentNullException.ThrowIfNull(n);
        var facts = FactLines(n);
        return $"{n.Title}\n\n{n.Message}{(facts.Length > 0 ? "\n\n" + facts : "")}{(link is null ? "" : "\n\n" + link)}";
    }

    /// <summary>The facts as <c>Name: value</c> lines.</summary>
    private static string FactLines(Notification n) => string.Join("\n", n.Facts().Select(f => $"{f.Name}: {f.Value}"));

    /// <summary>Pushover's message (its API takes JSON): the application token and user key, errors at high priority.</summary>
    private static JsonObject Pushover(Notification n, ChannelSettings channel, string? link)
    {
        var body = new JsonObject
        {
            ["token"] = channel.Target.Trim(),
            ["user"] = channel.Channel,
            ["title"] = n.Title,
            ["message"] = FactLines(n) is { Length: > 0 } facts ? $"{n.Message}\n{facts}" : n.Message,
            ["priority"] = n.Level is NotificationLevel.Error or NotificationLevel.Fatal ? 1 : 0,
        };
        if (link is not null)
        {
            body["url"] = link;
            body["url_title"] = "Open in KeelPortal";
        }
        return body;
    }

    public static string? LinkOf(Notification n, Uri? publicBaseUrl) =>
        publicBaseUrl is null || n.LinkPath is null ? null : new Uri(publicBaseUrl, n.LinkPath.TrimStart('/')).AbsoluteUri;

    /// <summary>Block Kit inside a coloured attachment: a header, the sentence, the facts as fields, an open button.</summary>
    private static JsonObject Slack(Notification n, ChannelSettings channel, string? link, ChatActions? decide)
    {
        var blocks = new JsonArray
        {
            new JsonObject { ["type"] = "header", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = n.Title, ["emoji"] = true } },
            new JsonObject { ["type"] = "section", ["text"] = Mrkdwn(SlackText(n.Message)) },
        };
        var facts = n.Facts();
        if (facts.Count > 0)
        {
            blocks.Add(new JsonObject
            {
                ["type"] = "section",
                ["fields"] = new JsonArray(facts.Select(f => (JsonNode)Mrkdwn($"*{f.Name}*\n{SlackText(f.Value)}")).ToArray()),
            });
        }
        if (link is not null)
        {
            var button = new JsonObject { ["type"] = "button", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = OpenLabel }, ["url"] = link };
            if (n.Event == NotificationEvents.ApprovalRequired)
            {
                button["style"] = "primary";
            }
            blocks.Add(new JsonObject { ["type"] = "actions", ["elements"] = new JsonArray(button) });
        }
        if (decide is { SlackButtons: true })
        {
            var id = n.ApprovalId!.Value.ToString(CultureInfo.InvariantCulture);
            blocks.Add(new JsonObject
            {
                ["type"] = "actions",
                ["block_id"] = $"keelportal.decide.{id}",
                ["elements"] = new JsonArray(
                    SlackButton("Approve", ApproveActionId, id, "primary"),
                    SlackButton("Reject", RejectActionId, id, "danger")),
            });
        }
        blocks.Add(new JsonObject { ["type"] = "context", ["elements"] = new JsonArray(Mrkdwn($"KeelPortal · {n.Level.KeelName()}")) });
        var body = new JsonObject { ["text"] = $"{n.Title}: {SlackText(n.Message)}" };
        AddIfSet(body, "channel", channel.Channel);
        AddIfSet(body, "username", channel.Username);
        AddIfSet(body, "icon_url", channel.IconUrl);
        body["attachments"] = new JsonArray(new JsonObject { ["color"] = n.Level.Color(), ["fallback"] = SlackText(n.Message), ["blocks"] = blocks });
        return body;
    }

    /// <summary>Keel's <c>{"username","icon_url","text"}</c> with markdown, plus a coloured attachment carrying the facts.</summary>
    private static JsonObject SlackButton(string label, string actionId, string value, string style) => new()
    {
        ["type"] = "button", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = label }, ["action_id"] = actionId, ["value"] = value, ["style"] = style,
    };

    private static JsonObject Mattermost(Notification n, ChannelSettings channel, string? link, ChatActions? decide)
    {
        var text = $"#### {n.Title}\n{MarkdownText(n.Message)}";
        if (link is not null)
        {
            text += $"\n[{OpenLabel}]({link})";
        }
        var body = new JsonObject { ["username"] = channel.Username ?? "keel" };
        AddIfSet(body, "icon_url", channel.IconUrl);
        AddIfSet(body, "channel", channel.Channel);
        body["text"] = text;
        var attachment = new JsonObject { ["fallback"] = PlainText(n.Message), ["color"] = n.Level.Color(), ["title"] = n.Title };
        AddIfSet(attachment, "title_link", link);
        attachment["fields"] = new JsonArray(n.Facts().Select(f => (JsonNode)new JsonObject { ["short"] = true, ["title"] = f.Name, ["value"] = MarkdownText(f.Value) }).ToArray());
        if (decide is { MattermostActionUrl: { } url, MattermostApproveSecret: { } approve, MattermostRejectSecret: { } reject })
        {
            attachment["actions"] = new JsonArray(
                MattermostAction("approve", "Approve", "good", url, n.ApprovalId!.Value, approve),
                MattermostAction("reject", "Reject", "danger", url, n.ApprovalId!.Value, reject));
        }
        else if (decide is { ApproveLink: { } approveLink, RejectLink: { } rejectLink })
        {
            body["text"] = text + $"\n[Approve]({approveLink}) · [Reject]({rejectLink})";
        }
        body["attachments"] = new JsonArray(attachment);
        return body;
    }

    /// <summary>A Mattermost message action: the portal's callback, with the approval, the decision and its per-message secret.</summary>
    private static JsonObject MattermostAction(string id, string name, string style, Uri url, long approvalId, string secret) => new()
    {
        ["id"] = id, ["name"] = name, ["style"] = style, ["type"] = "button",
        ["integration"] = new JsonObject
        {
            ["url"] = url.AbsoluteUri,
            ["context"] = new JsonObject { ["approval"] = approvalId, ["action"] = id, ["secret"] = secret },
        },
    };

    private static JsonObject Mrkdwn(string text) => new() { ["type"] = "mrkdwn", ["text"] = text };

    private static void AddIfSet(JsonObject o, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            o[key] = value;
        }
    }

    private static string Timestamp(DateTime utc) =>
        DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KeelPortal.Chat;

public enum SlackCommandKind { Help, ListApprovals, Vote, Unknown }

/// <summary>One of Keel's bot commands: <c>help</c>, <c>get approvals</c>, <c>approve &lt;identifier&gt;</c>, <c>reject &lt;identifier&gt;</c>.</summary>
public sealed partial record SlackCommand(SlackCommandKind Kind, string Text, string? Identifier = null, bool Approve = false)
{
    /// <summary>Reads a message's text as Slack sends it: entities decoded, the bot's mention and name dropped, links to their label.</summary>
    public static SlackCommand Parse(string text, string? botName)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Mentions (<@U…>, <!here>) are dropped, links become their label; what is left is the command.
        var plain = LinkPattern().Replace(text, m => m.Groups[1].Value.StartsWith('@') || m.Groups[1].Value.StartsWith('!') ? ""
            : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[1].Value);
        plain = plain.Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal).Replace("&amp;", "&", StringComparison.Ordinal);
        plain = Spaces().Replace(plain, " ").Trim(' ', ':', ',');
        if (botName is { Length: > 0 } && plain.StartsWith(botName + " ", StringComparison.OrdinalIgnoreCase))
        {
            plain = plain[(botName.Length + 1)..].TrimStart(' ', ':', ',');
        }
        var words = plain.Split(' ', 2);
        var verb = words[0].ToLowerInvariant();
        return verb switch
        {
            "help" when words.Length == 1 => new(SlackCommandKind.Help, plain),
            "get" when words.Length == 2 && words[1].Equals("approvals", StringComparison.OrdinalIgnoreCase) => new(SlackCommandKind.ListApprovals, plain),
            "approve" or "reject" when words.Length == 2 && !words[1].Contains(' ', StringComparison.Ordinal) && words[1].Length <= 512 =>
                new(SlackCommandKind.Vote, plain, words[1].TrimStart('#'), verb == "approve"),
            _ => new(SlackCommandKind.Unknown, plain),
        };
    }

    [GeneratedRegex(@"<([^<>|]*)(?:\|([^<>]*))?>")]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}

/// <summary>Where a message reached the bot, which decides what it may do there.</summary>
public enum SlackPlace
{
    /// <summary>A direct message to the bot: every command.</summary>
    Direct,

    /// <summary>A message in the approvals channel without a mention: every command; other talk is left alone.</summary>
    ApprovalsChannel,

    /// <summary>A mention of the bot in the approvals channel: every command.</summary>
    ApprovalsMention,

    /// <summary>A mention of the bot in another channel: everything but votes.</summary>
    Mention,
}

/// <summary>A person's message to the bot, validated: who, where, the thread to answer in, and the words.</summary>
public sealed partial record SlackMessage(string UserId, string Channel, string ThreadTs, string Text, SlackPlace Place)
{
    private const int MaxText = 4000;

    /// <summary>
    /// The message an Events API <c>event</c> carries, or null when it is not for the bot: bots' messages (its own
    /// included), edits and other subtypes, malformed ids, and talk in channels other than the approvals channel that
    /// does not mention the bot. A mention in the approvals channel arrives twice (as <c>message</c> and
    /// <c>app_mention</c>): only the mention is taken.
    /// </summary>
    public static SlackMessage? Parse(JsonNode? e, string? botUserId, string? approvalsChannelId)
    {
        if (e is not JsonObject ev || ev["bot_id"] is not null || ev["subtype"] is not null)
        {
            return null;
        }
        var type = Field(ev, "type");
        var user = Field(ev, "user");
        var channel = Field(ev, "channel");
        var ts = Field(ev, "ts");
        var thread = Field(ev, "thread_ts");
        var text = Field(ev, "text");
        if (!ChatLinks.IsChatUserId(user) || user == botUserId || channel is null || !ChannelPattern().IsMatch(channel)
            || ts is null || !TsPattern().IsMatch(ts) || (thread is not null && !TsPattern().IsMatch(thread)) || text is null or { Length: > MaxText })
        {
            return null;
        }
        var mentionsBot = botUserId is not null && text.Contains($"<@{botUserId}>", StringComparison.Ordinal);
        SlackPlace? place = type switch
        {
            "app_mention" => channel == approvalsChannelId ? SlackPlace.ApprovalsMention : SlackPlace.Mention,
            "message" when Field(ev, "channel_type") == "im" => SlackPlace.Direct,
            "message" when channel == approvalsChannelId && !mentionsBot => SlackPlace.ApprovalsChannel,
            _ => null,
        };
        return place is { } where ? new SlackMessage(user!, channel, thread ?? ts, text, where) : null;
    }

    private static string? Field(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    [GeneratedRegex("^[CDG][A-Z0-9]{2,30}$")]
    private static partial Regex ChannelPattern();

    [GeneratedRegex(@"^\d{1,12}\.\d{1,9}$")]
    private static partial Regex TsPattern();
}

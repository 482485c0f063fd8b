using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Notifications;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

/// <summary>An envelope Slack sent over Socket Mode and the portal acknowledged: written before the acknowledgement, acted on once.</summary>
public sealed record SlackEnvelopeReceived(string EnvelopeId, string Type, string Payload);

/// <summary>
/// Acts on what Slack sends: a click on Approve or Reject (over Socket Mode or the signed Interactivity URL) votes as the
/// linked person and updates the message; Keel's bot commands in the approvals channel, in a direct message or by a
/// mention are answered in the message's thread. Every vote goes through <see cref="ChatVoting"/> — the linked account,
/// its role now, one vote per person — so a repeated envelope cannot count twice.
/// </summary>
public sealed partial class SlackBot(
    ChatVoting voting, ApprovalBook book, SlackWebApi slack, SlackIdentity identity, IOptions<ChatOptions> options,
    IOptions<NotificationsOptions> notifications, ILogger<SlackBot> logger) : IMessageHandler<SlackEnvelopeReceived>
{
    private const int ListedAtMost = 20;

    private static readonly ChannelSettings SlackMessageChannel = new("chat", ChannelType.Slack, "", null, null, null, NotificationEvents.All, NotificationLevel.Debug, false, true, "chat");

    public async Task<WorkResult> HandleAsync(SlackEnvelopeReceived message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        JsonObject? payload;
        try
        {
            payload = JsonNode.Parse(message.Payload) as JsonObject;
        }
        catch (JsonException)
        {
            payload = null;
        }
        if (payload is null)
        {
            LogIgnored(message.Type, "its payload is not a JSON object");
            return WorkResult.Done;
        }
        return message.Type switch
        {
            "interactive" => await ClickAsync(payload, work, ct),
            "events_api" => await EventAsync(payload, work, ct),
            _ => WorkResult.Done,
        };
    }

    private async Task<WorkResult> ClickAsync(JsonObject payload, WorkContext work, CancellationToken ct)
    {
        if (SlackAction.FromPayload(payload) is not { } action)
        {
            LogIgnored("interactive", "not a click on an approval's Approve or Reject button");
            return WorkResult.Done;
        }
        if (!await work.HoldsAsync(ct))
        {
            return WorkResult.Lost;
        }
        var answer = await AnswerClickAsync(action, ct);
        return Ended(await slack.RespondAsync(action.ResponseUrl, answer, ct), work);
    }

    /// <summary>What a click comes to, as the message that replaces the approval's (counted) or a note to the clicker only (not counted).</summary>
    public async Task<JsonObject> AnswerClickAsync(SlackAction action, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(action);
        var vote = await voting.VoteAsync(ChatLinks.Slack, action.UserId, action.ApprovalId, action.Approve, ct);
        if (vote is not { Counted: true, Approval: { } approval })
        {
            return new JsonObject { ["response_type"] = "ephemeral", ["replace_original"] = false, ["text"] = vote.Text };
        }
        var composed = await voting.MessageOfAsync(approval, ct);
        var pending = approval.State == ApprovalState.Pending;
        var answer = MessageComposer.Compose(composed, SlackMessageChannel, notifications.Value.PublicBaseUrl, pending ? new ChatActions(true, null, null, null, null, null) : null);
        answer["replace_original"] = true;
        return answer;
    }

    private async Task<WorkResult> EventAsync(JsonObject payload, WorkContext work, CancellationToken ct)
    {
        var me = await identity.GetAsync(slack, ct);
        if (me.Problem is { } problem)
        {
            return WorkResult.Retry($"Slack's bot identity could not be read: {problem}");
        }
        if (SlackMessage.Parse(payload["event"], me.BotUserId, me.ApprovalsChannelId) is not { } said)
        {
            return WorkResult.Done;
        }
        var command = SlackCommand.Parse(said.Text, options.Value.SlackBotName);
        if (command.Kind == SlackCommandKind.Unknown && said.Place == SlackPlace.ApprovalsChannel)
        {
            return WorkResult.Done; // People talk in the approvals channel; only commands are answered there.
        }
        if (!await work.HoldsAsync(ct))
        {
            return WorkResult.Lost;
        }
        var reply = command.Kind switch
        {
            SlackCommandKind.Help => Help(me),
            SlackCommandKind.ListApprovals => await ListAsync(ct),
            SlackCommandKind.Vote when said.Place == SlackPlace.Mention =>
                $"Votes are taken {(me.ApprovalsChannelName is { } name ? $"in #{MessageComposer.SlackText(name)} or " : "")}in a direct message to me.",
            SlackCommandKind.Vote => await VoteAsync(said, command, ct),
            _ => $"I do not know “{MessageComposer.SlackText(Shorten(command.Text))}”. Say `help` for what I can do.",
        };
        LogCommand(said.UserId, command.Kind, said.Place);
        return Ended(await slack.PostAsync(said.Channel, reply, said.ThreadTs, ct), work);
    }

    private WorkResult Ended(SlackCall call, WorkContext work)
    {
        if (call.Ok)
        {
            return WorkResult.Done;
        }
        LogReplyFailed(call.Error ?? "", call.Retryable && !work.IsLastAttempt);
        return call.Retryable ? WorkResult.Retry($"Slack: {call.Error}") : WorkResult.Done;
    }

    private async Task<string> VoteAsync(SlackMessage said, SlackCommand command, CancellationToken ct)
    {
        var identifier = command.Identifier!;
        var approval = long.TryParse(identifier, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? await book.GetAsync(id, ct)
            : await book.FindAsync(identifier, ct);
        if (approval is null)
        {
            return $"There is no approval `{MessageComposer.SlackText(identifier)}`. Say `get approvals` for the ones waiting for votes.";
        }
        var vote = await voting.VoteAsync(ChatLinks.Slack, said.UserId, approval.Id, command.Approve, ct);
        var now = vote.Approval is { } after ? after : approval;
        var state = vote.Counted && now.State != ApprovalState.Pending ? $" `{MessageComposer.SlackText(now.Identifier)}` is now {now.State.ToString().ToLowerInvariant()}." : "";
        return MessageComposer.SlackText(vote.Text) + state;
    }

    private async Task<string> ListAsync(CancellationToken ct)
    {
        var pending = (await book.ListAsync(false, ct)).Where(a => a.State == ApprovalState.Pending).OrderBy(a => a.Id).ToList();
        if (pending.Count == 0)
        {
            return "No approval is waiting for votes.";
        }
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*Waiting for votes* ({pending.Count}):");
        foreach (var a in pending.Take(ListedAtMost))
        {
            var yes = a.Votes.Where(v => v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter).ToList();
            text.Append(CultureInfo.InvariantCulture,
                $"\n• `{MessageComposer.SlackText(a.Identifier)}` (#{a.Id}): {MessageComposer.SlackText(a.CurrentVersion)} → {MessageComposer.SlackText(a.NewVersion)}, " +
                $"{yes.Count}/{a.VotesRequired} votes{(yes.Count > 0 ? " (" + MessageComposer.SlackText(string.Join(", ", yes)) + ")" : "")}, " +
                $"until {a.DeadlineUtc:yyyy-MM-dd HH:mm} UTC");
        }
        if (pending.Count > ListedAtMost)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n…and {pending.Count - ListedAtMost} more in the console.");
        }
        return text.Append("\nSay `approve <identifier>` or `reject <identifier>`.").ToString();
    }

    private static string Help(SlackSelf me) =>
        "Here is what I can do:\n" +
        "• `get approvals`: the approvals waiting for votes\n" +
        "• `approve <identifier>`: vote for an update (the identifier as `get approvals` shows it, or its #number)\n" +
        "• `reject <identifier>`: reject an update\n" +
        "• `help`: this list\n" +
        $"Votes are taken {(me.ApprovalsChannelName is { } name ? $"in #{MessageComposer.SlackText(name)} and " : "")}in direct messages, and count as the KeelPortal account your Slack user is linked to.";

    private static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 79), "…");

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack user {ChatUser} asked for {Command} ({Place})")]
    private partial void LogCommand(string chatUser, SlackCommandKind command, SlackPlace place);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A Slack {Type} envelope was ignored: {Why}")]
    private partial void LogIgnored(string type, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answering in Slack failed: {Why} (tried again: {Again})")]
    private partial void LogReplyFailed(string why, bool again);
}

using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Chat;

public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>
    /// The signing secret of the Slack app whose Interactivity Request URL is <c>/v1/chat/slack/interactions</c>. Set, approval
    /// messages to Slack carry Approve and Reject buttons. Keep it in a secret store; it is never logged.
    /// </summary>
    public string? SlackSigningSecret { get; set; }

    /// <summary>
    /// The Slack app's app-level token (<c>xapp-…</c>, scope <c>connections:write</c>; Keel's <c>SLACK_APP_TOKEN</c>). Set, the
    /// portal connects to Slack in Socket Mode — no public URL needed: approval messages carry Approve and Reject buttons and
    /// the bot answers commands in the approvals channel and in direct messages. A secret; never logged.
    /// </summary>
    public string? SlackAppToken { get; set; }

    /// <summary>The bot token (<c>xoxb-…</c>) the Socket Mode bot replies with; Keel's <c>SLACK_BOT_TOKEN</c> (or <c>SLACK_TOKEN</c>) when unset. A secret.</summary>
    public string? SlackBotToken { get; set; }

    /// <summary>The channel (name or id) where the bot takes votes by command; Keel's <c>SLACK_APPROVALS_CHANNEL</c> when unset. Direct messages always may.</summary>
    public string? SlackApprovalsChannel { get; set; }

    /// <summary>The bot's name, dropped from the start of a command (<c>keel approve …</c>); Keel's <c>SLACK_BOT_NAME</c> when unset.</summary>
    public string? SlackBotName { get; set; }

    /// <summary>How old a Slack request's timestamp may be (Slack recommends five minutes): older ones are refused as replays.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "00:15:00", ErrorMessage = "Chat:SlackMaxAge must be between 00:00:10 and 00:15:00.")]
    public TimeSpan SlackMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Where Slack's <c>response_url</c> may point; the message is updated only there.</summary>
    public List<string> ResponseUrlPrefixes { get; set; } = ["https://hooks.slack.com/"];

    /// <summary>Approval messages to Mattermost carry Approve and Reject actions (needs <c>Notifications:PublicBaseUrl</c>).</summary>
    public bool MattermostActions { get; set; } = true;

    /// <summary>Approval messages to Teams, Discord and webhooks carry signed links to decide (needs <c>Notifications:PublicBaseUrl</c>).</summary>
    public bool SignedLinks { get; set; } = true;

    /// <summary>The longest a decision link or action secret lives; it never outlives the approval's deadline.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "30.00:00:00", ErrorMessage = "Chat:LinkLifetime must be between 00:05:00 and 30.00:00:00.")]
    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromDays(7);
}

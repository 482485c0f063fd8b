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

using System.Globalization;
using KeelPortal.Approvals;
using KeelPortal.Notifications;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

/// <summary>What a click in chat came to: counted (with the approval as it stands now), or refused with the words to show the clicker.</summary>
public sealed record ChatVote(bool Counted, string Text, Approval? Approval);

/// <summary>
/// A vote from a chat button: the chat user is looked up in <see cref="ChatLinks"/> and votes as that portal account
/// through <see cref="ApprovalGate"/> (role read from the database now, one vote per person, audited "via Slack"). An
/// unlinked user is told how to link, privately; nothing is counted for them.
/// </summary>
public sealed partial class ChatVoting(
    ChatLinks links, ApprovalGate gate, ApprovalBook book, ChatTokens tokens, NotificationSources sources,
    IOptions<NotificationsOptions> notifications, TimeProvider time, ILogger<ChatVoting> logger)
{
    public static readonly TimeSpan LinkLifetime = TimeSpan.FromMinutes(30);

    public async Task<ChatVote> VoteAsync(string platform, string chatUserId, long approvalId, bool approve, CancellationToken ct = default)
    {
        var via = ChatLinks.Display(platform);
        var user = await links.UserOfAsync(platform, chatUserId, ct);
        if (user is null)
        {
            LogRefused(via, chatUserId, approvalId, "not linked");
            // A link token only for an identity the platform proved (Slack signs the request naming the clicker).
            var link = notifications.Value.PublicBaseUrl is { } baseUrl && platform == ChatLinks.Slack
                ? $" Link it here (sign in to KeelPortal; the link works for {LinkLifetime.TotalMinutes:0} minutes): " + new Uri(baseUrl,
                    $"account/chat-link?token={Uri.EscapeDataString(tokens.Create(ChatTokens.Link, platform, chatUserId, time.GetUtcNow().UtcDateTime + LinkLifetime))}").AbsoluteUri
                : " Ask a KeelPortal administrator to link it.";
            return new(false, $"Your {via} account is not linked to a KeelPortal account, so your vote was not counted.{link}", null);
        }
        var result = await gate.VoteAsync(user, approvalId, approve, null, via, ct);
        var counted = result.Outcome is VoteOutcome.Counted or VoteOutcome.Approved or VoteOutcome.Rejected;
        if (!counted)
        {
            LogRefused(via, chatUserId, approvalId, result.Outcome.ToString());
            return new(false, $"Not counted: {result.Reason}.", null);
        }
        return new(true, $"{user}: {(approve ? "approved" : "rejected")} ({result.Reason}).", await book.GetAsync(approvalId, ct));
    }

    /// <summary>The approval message as it stands now: still asking (with the votes so far and its buttons) or decided.</summary>
    public async Task<Notification> MessageOfAsync(Approval approval, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(approval);
        var e = approval.State switch
        {
            ApprovalState.Pending => NotificationEvents.ApprovalRequired,
            ApprovalState.Rejected => NotificationEvents.Rejected,
            ApprovalState.Expired => NotificationEvents.Expired,
            ApprovalState.Superseded => NotificationEvents.Superseded,
            _ => NotificationEvents.Approved,
        };
        var (notification, _) = await sources.DescribeAsync(approval, e, time.GetUtcNow().UtcDateTime, ct);
        var yes = approval.Votes.Where(v => v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter).ToList();
        return approval.VotesRequired > 0
            ? notification with { Votes = string.Create(CultureInfo.InvariantCulture, $"{yes.Count}/{approval.VotesRequired}{(yes.Count > 0 ? ": " + string.Join(", ", yes) : "")}") }
            : notification;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A vote from {Platform} user {ChatUser} on approval {ApprovalId} was not counted: {Why}")]
    private partial void LogRefused(string platform, string chatUser, long approvalId, string why);
}

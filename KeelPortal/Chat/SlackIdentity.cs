using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

/// <summary>The bot as Slack knows it: its user id, and the approvals channel's id and name (null when none is set or the bot is not in it); or why it could not be read.</summary>
public sealed record SlackSelf(string? BotUserId, string? ApprovalsChannelId, string? ApprovalsChannelName, string? Problem = null);

/// <summary>
/// Reads the bot's identity once (<c>auth.test</c>) and the approvals channel's id from its name (<c>users.conversations</c>:
/// Slack's events name channels by id). A channel the bot is not a member of is looked up again after five minutes, so
/// inviting the bot is enough.
/// </summary>
public sealed partial class SlackIdentity(IOptions<ChatOptions> options, TimeProvider time, ILogger<SlackIdentity> logger) : IDisposable
{
    private static readonly TimeSpan LookAgainAfter = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim gate = new(1, 1);
    private string? botUserId;
    private string? channelId;
    private DateTimeOffset channelLookedUpAt = DateTimeOffset.MinValue;

    public async Task<SlackSelf> GetAsync(SlackWebApi slack, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(slack);
        var channel = options.Value.SlackApprovalsChannel?.Trim().TrimStart('#');
        await gate.WaitAsync(ct);
        try
        {
            if (botUserId is null)
            {
                var me = await slack.WhoAmIAsync(ct);
                if (!me.Ok || me.Answer!["user_id"]?.GetValue<string>() is not { } id)
                {
                    return new SlackSelf(null, null, channel, me.Error ?? "auth.test named no user");
                }
                botUserId = id;
            }
            if (string.IsNullOrEmpty(channel))
            {
                return new SlackSelf(botUserId, null, null);
            }
            if (ChannelIdPattern().IsMatch(channel))
            {
                return new SlackSelf(botUserId, channel, channel);
            }
            if (channelId is null && time.GetUtcNow() - channelLookedUpAt >= LookAgainAfter)
            {
                channelLookedUpAt = time.GetUtcNow();
                var (found, last) = await slack.ChannelIdAsync(channel, ct);
                channelId = found;
                if (found is null)
                {
                    LogChannelNotFound(channel, last.Error ?? "the bot is not a member of it");
                }
            }
            return new SlackSelf(botUserId, channelId, channel);
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose() => gate.Dispose();

    [GeneratedRegex("^[CG][A-Z0-9]{8,}$")]
    private static partial Regex ChannelIdPattern();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack's approvals channel #{Channel} was not found ({Why}): invite the bot to it; until then votes by command are taken in direct messages only")]
    private partial void LogChannelNotFound(string channel, string why);
}

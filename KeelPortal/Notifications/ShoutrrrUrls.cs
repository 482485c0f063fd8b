using System.Web;

namespace KeelPortal.Notifications;

/// <summary>
/// Keel's <c>SHOUTRRR_URLS</c> (service URLs separated by white space, as shoutrrr writes them) read into channels of
/// the kinds KeelPortal speaks: <c>slack://</c> (webhook or bot token), <c>discord://</c>, <c>mattermost://</c>,
/// <c>teams://</c>, <c>generic://</c> (and <c>generic+https://</c>, <c>generic+http://</c>), <c>smtp://</c>, <c>telegram://</c>
/// (a channel per chat) and <c>pushover://</c>. Any other
/// scheme is an error that names it; no URL is ever quoted in an error (they carry tokens).
/// </summary>
public static class ShoutrrrUrls
{
    public static IReadOnlyList<string> Schemes { get; } = ["slack", "discord", "mattermost", "teams", "generic", "generic+https", "generic+http", "smtp", "telegram", "pushover"];

    /// <summary>One channel per service URL, named <c>shoutrrr-&lt;n&gt;-&lt;scheme&gt;</c> (n from 1).</summary>
    public static (List<(string Name, ChannelType Type, string Target, string? Channel, string? Username)> Channels, List<string> Errors) Parse(string? text)
    {
        var channels = new List<(string, ChannelType, string, string?, string?)>();
        var errors = new List<string>();
        var urls = (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < urls.Length; i++)
        {
            var scheme = urls[i].Split("://", 2)[0].ToLowerInvariant();
            var where = $"SHOUTRRR_URLS entry {i + 1} ({(Schemes.Contains(scheme) ? scheme : "scheme '" + Clean(scheme) + "'")})";
            if (!Schemes.Contains(scheme))
            {
                errors.Add($"{where}: KeelPortal does not send to this service; it speaks {string.Join(", ", Schemes.Select(s => s + "://"))}");
                continue;
            }
            if (!Uri.TryCreate(urls[i], UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            {
                errors.Add($"{where}: not a URL");
                continue;
            }
            if (scheme == "telegram")
            {
                // telegram://token@telegram?chats=@channel,-100123 — one channel per chat.
                var token = Uri.UnescapeDataString(uri.UserInfo);
                var query = HttpUtility.ParseQueryString(uri.Query);
                var chats = (query["chats"] ?? query["channels"] ?? "")
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (chats.Length == 0)
                {
                    errors.Add($"{where}: expected telegram://token@telegram?chats=@channel[,chat-id…]");
                    continue;
                }
                for (var c = 0; c < chats.Length; c++)
                {
                    Add(errors, channels, where, $"shoutrrr-{i + 1}-telegram{(chats.Length > 1 ? $"-{c + 1}" : "")}", (ChannelType.Telegram, token, chats[c], null, null));
                }
                continue;
            }
            Add(errors, channels, where, $"shoutrrr-{i + 1}-{scheme.Replace('+', '-')}", Convert(scheme, uri, RawHost(urls[i])));
        }
        return (channels, errors);
    }

    private static void Add(
        List<string> errors, List<(string, ChannelType, string, string?, string?)> channels, string where, string name,
        (ChannelType Type, string? Target, string? Channel, string? Username, string? Problem) converted)
    {
        var problem = converted.Problem ?? ChannelTargets.Problem(converted.Type, converted.Target, converted.Channel);
        if (problem is not null)
        {
            errors.Add($"{where}: {problem.Replace("Enter the", "expected the", StringComparison.Ordinal)}");
            return;
        }
        channels.Add((name, converted.Type, converted.Target!, converted.Channel, converted.Username));
    }

    /// <summary>The host as written: <see cref="Uri"/> lower-cases it, and Slack channel ids and webhook parts are case-sensitive.</summary>
    private static string RawHost(string url)
    {
        var rest = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        var authority = end < 0 ? rest : rest[..end];
        var host = authority[(authority.LastIndexOf('@') + 1)..];
        var colon = host.LastIndexOf(':');
        return Uri.UnescapeDataString(colon > 0 && host.IndexOf(']', StringComparison.Ordinal) < colon ? host[..colon] : host);
    }

    private static (ChannelType Type, string? Target, string? Channel, string? Username, string? Problem) Convert(string scheme, Uri uri, string host)
    {
        var query = HttpUtility.ParseQueryString(uri.Query);
        var user = Uri.UnescapeDataString(uri.UserInfo.Split(':', 2)[0]);
        var password = uri.UserInfo.Contains(':', StringComparison.Ordinal) ? Uri.UnescapeDataString(uri.UserInfo.Split(':', 2)[1]) : "";
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var secure = !string.Equals(query["disabletls"], "yes", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
        switch (scheme)
        {
            case "slack" when user is "xoxb" or "xoxp":
                // slack://xoxb:123-456-abc@C0123 — a bot token and the channel it posts to.
                return (ChannelType.Slack, $"{user}-{password}", host, query["botname"], null);
            case "slack" when user == "hook":
                // slack://hook:A-B-C@webhook — an incoming webhook's three token parts.
                var parts = password.Split('-', 3);
                return parts.Length == 3
                    ? (ChannelType.Slack, $"https://hooks.slack.com/services/{parts[0]}/{parts[1]}/{parts[2]}", null, query["botname"], null)
                    : (ChannelType.Slack, null, null, null, "a Slack webhook token has three parts (hook:A-B-C)");
            case "slack":
                // The older slack://[botname@]A/B/C.
                return segments.Length == 2
                    ? (ChannelType.Slack, $"https://hooks.slack.com/services/{host}/{segments[0]}/{segments[1]}", null, user.Length > 0 ? user : query["botname"], null)
                    : (ChannelType.Slack, null, null, null, "expected slack://hook:A-B-C@webhook, slack://xoxb:token@channel or slack://A/B/C");
            case "discord":
                // discord://token@webhookid
                return user.Length > 0
                    ? (ChannelType.Discord, $"https://discord.com/api/webhooks/{host}/{user}", null, null, null)
                    : (ChannelType.Discord, null, null, null, "expected discord://token@webhookid");
            case "mattermost":
                // mattermost://[username@]host[:port]/token[/channel]
                return segments.Length >= 1
                    ? (ChannelType.Mattermost, $"{secure}://{uri.Authority}/hooks/{segments[0]}", segments.Length > 1 ? segments[1] : null, user.Length > 0 ? user : null, null)
                    : (ChannelType.Mattermost, null, null, null, "expected mattermost://[username@]host/token[/channel]");
            case "teams":
                // teams://group@tenant/altId/groupOwner?host=organization.webhook.office.com
                return segments.Length == 2 && query["host"] is { Length: > 0 } teamsHost && user.Length > 0
                    ? (ChannelType.Teams, $"https://{teamsHost}/webhookb2/{user}@{host}/IncomingWebhook/{segments[0]}/{segments[1]}", null, null, null)
                    : (ChannelType.Teams, null, null, null, "expected teams://group@tenant/altId/groupOwner?host=<organization>.webhook.office.com");
            case "generic":
                return (ChannelType.Webhook, $"{secure}://{uri.Authority}{uri.AbsolutePath}", null, null, null);
            case "pushover":
                // pushover://shoutrrr:apiToken@userKey/?devices=… — devices are not taken: the message goes to every device of the user.
                return query["devices"] is { Length: > 0 }
                    ? (ChannelType.Pushover, null, null, null, "Pushover devices are not taken: remove ?devices= (the message goes to every device of the user key)")
                    : (ChannelType.Pushover, password, host, null, null);
            case "generic+https" or "generic+http":
                return (ChannelType.Webhook, $"{scheme[8..]}://{uri.Authority}{uri.AbsolutePath}", null, null, null);
            default:
                return (ChannelType.Email, uri.OriginalString, null, null, null);
        }
    }

    private static string Clean(string text) => text.Length <= 20 ? new string([.. text.Where(char.IsAsciiLetterOrDigit)]) : "…";
}

namespace KeelPortal.Notifications;

/// <summary>Checks and masks channel targets (webhook URLs, Slack bot tokens): the secrets of this slice.</summary>
public static class ChannelTargets
{
    public static bool IsSlackToken(string target) =>
        target.StartsWith("xoxb-", StringComparison.Ordinal) || target.StartsWith("xoxp-", StringComparison.Ordinal);

    /// <summary>Why a target cannot be used by a channel of this type, or null when it can.</summary>
    public static string? Problem(ChannelType type, string? target, string? channel)
    {
        if (type == ChannelType.Email)
        {
            return SmtpTarget.TryParse(target, out _, out var problem) ? null : problem;
        }
        if (type == ChannelType.Telegram)
        {
            return !System.Text.RegularExpressions.Regex.IsMatch(target?.Trim() ?? "", @"^\d+:[A-Za-z0-9_-]{20,}$") ? "Enter the Telegram bot token (123456789:AA…) from BotFather."
                : string.IsNullOrWhiteSpace(channel) ? "A Telegram bot posts to a chat: enter the chat (@channel or its numeric id)." : null;
        }
        if (type == ChannelType.Pushover)
        {
            return !System.Text.RegularExpressions.Regex.IsMatch(target?.Trim() ?? "", "^[A-Za-z0-9]{30}$") ? "Enter the Pushover application's API token (30 letters and digits)."
                : !System.Text.RegularExpressions.Regex.IsMatch(channel?.Trim() ?? "", "^[A-Za-z0-9]{30}$") ? "Enter the Pushover user or group key (30 letters and digits) as the channel." : null;
        }
        if (string.IsNullOrWhiteSpace(target))
        {
            return type == ChannelType.Slack
                ? "Enter the Slack incoming-webhook URL (https://hooks.slack.com/services/…) or a bot token (xoxb-…)."
                : $"Enter the {Describe(type)} incoming-webhook URL.";
        }
        var value = target.Trim();
        if (type == ChannelType.Slack && IsSlackToken(value))
        {
            return string.IsNullOrWhiteSpace(channel) ? "A Slack bot token posts to a named channel: enter the channel (for example #deployments)." : null;
        }
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.Host.Length == 0)
        {
            return $"The webhook URL must be an absolute http:// or https:// URL{(type == ChannelType.Slack ? " (or a Slack bot token starting with xoxb-)" : "")}.";
        }
        return null;
    }

    /// <summary>Whether a <see cref="Problem"/> is about the channel field (the chat, channel or user key) rather than the target.</summary>
    public static bool IsAboutChannel(string problem) =>
        problem.StartsWith("A Slack bot token", StringComparison.Ordinal) || problem.StartsWith("A Telegram bot", StringComparison.Ordinal)
        || problem.StartsWith("Enter the Pushover user", StringComparison.Ordinal);

    public static string? IconProblem(string? iconUrl) =>
        string.IsNullOrWhiteSpace(iconUrl) || (Uri.TryCreate(iconUrl.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
            ? null
            : "The icon must be an absolute http:// or https:// URL of an image.";

    /// <summary>What may be shown of a target: the scheme and host of a URL, the kind of a token; never the secret part.</summary>
    public static string Mask(string target)
    {
        var value = target.Trim();
        if (IsSlackToken(value))
        {
            return value[..5] + "••••••";
        }
        return Uri.TryCreate(value, UriKind.Absolute, out var uri)
            ? $"{uri.Scheme}://{uri.Authority}/••••••"
            : "••••••";
    }

    public static string Describe(ChannelType type) => type switch
    {
        ChannelType.Teams => "Microsoft Teams",
        ChannelType.Webhook => "generic webhook",
        ChannelType.Email => "e-mail (SMTP)",
        ChannelType.Telegram => "Telegram",
        ChannelType.Pushover => "Pushover",
        _ => type.ToString(),
    };

    /// <summary>Removes the target from a text that may quote it (an exception message), before it is logged or stored.</summary>
    public static string Scrub(string text, string target) =>
        target.Length == 0 ? text : text.Replace(target.Trim(), "[channel target]", StringComparison.Ordinal);
}

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
        _ => type.ToString(),
    };

    /// <summary>Removes the target from a text that may quote it (an exception message), before it is logged or stored.</summary>
    public static string Scrub(string text, string target) =>
        target.Length == 0 ? text : text.Replace(target.Trim(), "[channel target]", StringComparison.Ordinal);
}

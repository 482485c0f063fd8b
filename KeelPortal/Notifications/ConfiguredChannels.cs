using Microsoft.Extensions.Options;

namespace KeelPortal.Notifications;

/// <summary>
/// The channels declared as code: <c>Notifications:Channels</c>, and Keel's environment variables where they map
/// (<c>SLACK_TOKEN</c>/<c>SLACK_BOT_TOKEN</c> with <c>SLACK_CHANNELS</c>, <c>SLACK_BOT_NAME</c> and
/// <c>SLACK_APPROVALS_CHANNEL</c>; <c>MATTERMOST_ENDPOINT</c> with <c>MATTERMOST_USERNAME</c>; <c>TEAMS_WEBHOOK_URL</c>;
/// <c>DISCORD_WEBHOOK_URL</c>; <c>WEBHOOK_ENDPOINT</c>; <c>NOTIFICATION_LEVEL</c>). Problems are reported at start-up,
/// naming the channel and never its target.
/// </summary>
public sealed class ConfiguredChannels(IOptions<NotificationsOptions> options, IConfiguration configuration)
{
    public const string FromSettings = "configuration";
    public const string FromKeelVariables = "Keel environment variables";

    private IReadOnlyList<ChannelSettings>? channels;

    public IReadOnlyList<ChannelSettings> All => channels ??= Read(options.Value, configuration, out _);

    /// <summary>Reads every declared channel; <paramref name="errors"/> lists what is wrong with the ones left out.</summary>
    public static IReadOnlyList<ChannelSettings> Read(NotificationsOptions options, IConfiguration configuration, out List<string> errors)
    {
        errors = [];
        var result = new List<ChannelSettings>();
        for (var i = 0; i < options.Channels.Count; i++)
        {
            if (FromSection(options.Channels[i], i, errors) is { } channel)
            {
                result.Add(channel);
            }
        }
        result.AddRange(FromKeel(configuration, errors));
        foreach (var duplicate in result.GroupBy(c => c.Name).Where(g => g.Count() > 1))
        {
            errors.Add($"Notification channel '{duplicate.Key}' is declared {duplicate.Count()} times; channel names must be unique.");
        }
        return result.DistinctBy(c => c.Name).ToList();
    }

    private static ChannelSettings? FromSection(ConfiguredChannel c, int index, List<string> errors)
    {
        var where = $"Notifications:Channels:{index}";
        var problems = new List<string>();
        if (ChannelNames.Problem(c.Name) is { } nameProblem)
        {
            problems.Add(nameProblem);
        }
        if (!Enum.TryParse<ChannelType>(c.Type, ignoreCase: true, out var type) || !Enum.IsDefined(type))
        {
            problems.Add($"Type must be one of {string.Join(", ", Enum.GetNames<ChannelType>())}.");
        }
        else if (ChannelTargets.Problem(type, c.Url, c.Channel) is { } targetProblem)
        {
            problems.Add(targetProblem.Replace("Enter the", "Url must be the", StringComparison.Ordinal).Replace("The webhook URL", "Url", StringComparison.Ordinal));
        }
        if (ChannelTargets.IconProblem(c.IconUrl) is { } iconProblem)
        {
            problems.Add(iconProblem);
        }
        if (!NotificationKinds.TryParseEvents(c.Events, out var events, out var unknown))
        {
            problems.Add($"'{unknown}' is not an event; use {string.Join(", ", NotificationKinds.Events)}, all or approvals.");
        }
        var level = NotificationLevel.Info;
        if (c.MinimumLevel is not null && !NotificationKinds.TryParseLevel(c.MinimumLevel, out level))
        {
            problems.Add($"MinimumLevel '{c.MinimumLevel}' is not a level; use debug, info, success, warn, error or fatal.");
        }
        if (problems.Count > 0)
        {
            errors.Add($"{where} ({c.Name ?? "no name"}): {string.Join(" ", problems)}");
            return null;
        }
        return new ChannelSettings(ChannelNames.Normalise(c.Name!), type, c.Url!.Trim(), Blank(c.Channel), Blank(c.Username), Blank(c.IconUrl),
            events == NotificationEvents.None ? NotificationEvents.All : events, level, c.Default, c.Enabled, FromSettings);
    }

    private static List<ChannelSettings> FromKeel(IConfiguration configuration, List<string> errors)
    {
        var level = NotificationLevel.Info;
        if (configuration["NOTIFICATION_LEVEL"] is { Length: > 0 } levelText && !NotificationKinds.TryParseLevel(levelText, out level))
        {
            errors.Add($"NOTIFICATION_LEVEL '{levelText}' is not a level; use debug, info, success, warn, error or fatal.");
        }
        var found = new List<ChannelSettings>();
        void Add(string variable, string name, ChannelType type, string? target, string? channel = null, string? username = null,
            NotificationEvents events = NotificationEvents.All)
        {
            if (string.IsNullOrWhiteSpace(target))
            {
                return;
            }
            if (ChannelTargets.Problem(type, target, channel) is { } problem)
            {
                errors.Add($"{variable}: {problem.Replace("Enter the", "expected the", StringComparison.Ordinal)}");
                return;
            }
            found.Add(new ChannelSettings(ChannelNames.Normalise(name), type, target.Trim(), channel, username, null, events, level, true, true, FromKeelVariables));
        }

        var slackToken = Blank(configuration["SLACK_BOT_TOKEN"]) ?? Blank(configuration["SLACK_TOKEN"]);
        if (slackToken is not null)
        {
            var bot = Blank(configuration["SLACK_BOT_NAME"]) ?? "keel";
            var slackChannels = (Blank(configuration["SLACK_CHANNELS"]) ?? "general").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var channel in slackChannels)
            {
                Add("SLACK_CHANNELS", channel.TrimStart('#'), ChannelType.Slack, slackToken, channel, bot);
            }
            if (Blank(configuration["SLACK_APPROVALS_CHANNEL"]) is { } approvals
                && !slackChannels.Contains(approvals, StringComparer.OrdinalIgnoreCase))
            {
                Add("SLACK_APPROVALS_CHANNEL", approvals.TrimStart('#'), ChannelType.Slack, slackToken, approvals, bot, NotificationEvents.Approvals);
            }
        }
        Add("MATTERMOST_ENDPOINT", "mattermost", ChannelType.Mattermost, configuration["MATTERMOST_ENDPOINT"],
            username: Blank(configuration["MATTERMOST_USERNAME"]) ?? "keel");
        Add("TEAMS_WEBHOOK_URL", "teams", ChannelType.Teams, configuration["TEAMS_WEBHOOK_URL"]);
        Add("DISCORD_WEBHOOK_URL", "discord", ChannelType.Discord, configuration["DISCORD_WEBHOOK_URL"]);
        Add("WEBHOOK_ENDPOINT", "webhook", ChannelType.Webhook, configuration["WEBHOOK_ENDPOINT"]);
        Add("MAIL_SMTP_SERVER", "mail", ChannelType.Email, SmtpTarget.FromKeel(configuration["MAIL_SMTP_SERVER"], configuration["MAIL_SMTP_PORT"],
            configuration["MAIL_SMTP_USER"], configuration["MAIL_SMTP_PASS"], configuration["MAIL_FROM"], configuration["MAIL_TO"]));
        var (shoutrrr, problems) = ShoutrrrUrls.Parse(configuration["SHOUTRRR_URLS"]);
        errors.AddRange(problems);
        found.AddRange(shoutrrr.Select(c => new ChannelSettings(ChannelNames.Normalise(c.Name), c.Type, c.Target, c.Channel, c.Username, null,
            NotificationEvents.All, level, true, true, FromKeelVariables)));
        return found;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>Start-up check of the declared channels, so a typo in a GitOps setting stops the portal with a reason.</summary>
public sealed class ConfiguredChannelsValidation(IConfiguration configuration) : IValidateOptions<NotificationsOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationsOptions options)
    {
        ConfiguredChannels.Read(options, configuration, out var errors);
        if (options.PublicBaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add("Notifications:PublicBaseUrl must be an absolute http:// or https:// URL, for example https://keel.example.com/.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Channel names as <c>keel.sh/notify</c> lists them.</summary>
public static class ChannelNames
{
    public static string Normalise(string name) => name.Trim().ToLowerInvariant();

    public static string? Problem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "Enter a name: the name keel.sh/notify refers to, for example deployments.";
        }
        var value = name.Trim();
        if (value.Length > 80 || !value.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.'))
        {
            return $"'{value}' is not a channel name: use up to 80 letters, digits, '-', '_' or '.' (keel.sh/notify separates names with commas).";
        }
        return null;
    }

    /// <summary>The names in a <c>keel.sh/notify</c> value (a leading '#' is Slack's and is dropped).</summary>
    public static IReadOnlyList<string> Parse(IEnumerable<string> listed) =>
        listed.Select(n => Normalise(n.TrimStart('#', ' '))).Where(n => n.Length > 0).Distinct().ToList();
}

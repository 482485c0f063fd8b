using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Notifications;

public sealed class NotificationsOptions
{
    public const string Section = "Notifications";

    /// <summary>The portal's address as people open it (<c>https://keel.example.com/</c>), for the links in messages.</summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>Channels declared as code (GitOps); shown read-only in the console.</summary>
    public List<ConfiguredChannel> Channels { get; set; } = [];

    /// <summary>PEM file of CA certificates an e-mail channel's SMTP server may also chain to (a private CA); the system's trust applies besides.</summary>
    public string? SmtpCaBundlePath { get; set; }

    /// <summary>Telegram's Bot API (a Telegram channel posts to <c>&lt;this&gt;bot&lt;token&gt;/sendMessage</c>).</summary>
    [Required(ErrorMessage = "Notifications:TelegramApiUrl is required.")]
    public Uri TelegramApiUrl { get; set; } = new("https://api.telegram.org/");

    /// <summary>Pushover's message API.</summary>
    [Required(ErrorMessage = "Notifications:PushoverApiUrl is required.")]
    public Uri PushoverApiUrl { get; set; } = new("https://api.pushover.net/1/messages.json");

    /// <summary>Where a Slack bot token posts (Slack's <c>chat.postMessage</c>).</summary>
    [Required(ErrorMessage = "Notifications:SlackApiUrl is required.")]
    public Uri SlackApiUrl { get; set; } = new("https://slack.com/api/chat.postMessage");

    /// <summary>How long one attempt may take before it is abandoned and retried.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Notifications:AttemptTimeout must be between 00:00:01 and 00:05:00.")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries kept per channel for its log.</summary>
    [Range(5, 1000, ErrorMessage = "Notifications:DeliveryLogSize must be between 5 and 1000.")]
    public int DeliveryLogSize { get; set; } = 50;
}

/// <summary>A channel declared in configuration: <c>Notifications:Channels:0:Name</c> and so on.</summary>
public sealed class ConfiguredChannel
{
    public string? Name { get; set; }
    public string? Type { get; set; }

    /// <summary>The incoming-webhook URL (or Slack bot token). A secret: keep it in an environment variable or a secret store.</summary>
    public string? Url { get; set; }

    public string? Channel { get; set; }
    public string? Username { get; set; }
    public string? IconUrl { get; set; }

    /// <summary>Event names (<c>ApprovalRequired</c>, <c>UpdateFailed</c>…), <c>all</c> or <c>approvals</c>; all when empty.</summary>
    public List<string> Events { get; set; } = [];

    public string? MinimumLevel { get; set; }
    public bool Default { get; set; } = true;
    public bool Enabled { get; set; } = true;
}

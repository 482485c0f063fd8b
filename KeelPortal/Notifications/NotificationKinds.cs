namespace KeelPortal.Notifications;

/// <summary>The services a channel can post to, each through its incoming webhook.</summary>
public enum ChannelType { Slack, Mattermost, Teams, Discord, Webhook, Email, Telegram, Pushover }

/// <summary>What happened. A channel subscribes to any set of these.</summary>
[Flags]
public enum NotificationEvents
{
    None = 0,
    ApprovalRequired = 1,
    Approved = 2,
    Rejected = 4,
    Expired = 8,
    Superseded = 16,
    UpdateApplied = 32,
    UpdateFailed = 64,
    RolloutSucceeded = 128,
    RolloutFailed = 256,

    /// <summary>Sent by the console's "send test message" only; never filtered out.</summary>
    Test = 512,

    All = ApprovalRequired | Approved | Rejected | Expired | Superseded | UpdateApplied | UpdateFailed | RolloutSucceeded | RolloutFailed,
    Approvals = ApprovalRequired | Approved | Rejected | Expired | Superseded,
}

/// <summary>Keel's notification levels, in Keel's order: a channel's minimum level drops everything below it.</summary>
public enum NotificationLevel { Debug, Info, Success, Warn, Error, Fatal }

public static class NotificationKinds
{
    /// <summary>The single events, in the order the console lists them.</summary>
    public static readonly IReadOnlyList<NotificationEvents> Events =
    [
        NotificationEvents.ApprovalRequired, NotificationEvents.Approved, NotificationEvents.Rejected, NotificationEvents.Expired,
        NotificationEvents.Superseded, NotificationEvents.UpdateApplied, NotificationEvents.UpdateFailed,
        NotificationEvents.RolloutSucceeded, NotificationEvents.RolloutFailed,
    ];

    /// <summary>Keel's colours by level (Teams and Discord take them without the '#').</summary>
    public static string Color(this NotificationLevel level) => level switch
    {
        NotificationLevel.Error => "#F44336",
        NotificationLevel.Info => "#2196F3",
        NotificationLevel.Success => "#00C853",
        NotificationLevel.Fatal => "#B71C1C",
        NotificationLevel.Warn => "#FF9800",
        _ => "#9E9E9E",
    };

    /// <summary>Keel's lower-case level names (<c>NOTIFICATION_LEVEL</c>, the generic webhook's <c>level</c>).</summary>
    public static string KeelName(this NotificationLevel level) => level.ToString().ToLowerInvariant();

    public static bool TryParseLevel(string? text, out NotificationLevel level)
    {
        level = NotificationLevel.Info;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "debug": level = NotificationLevel.Debug; return true;
            case "info": level = NotificationLevel.Info; return true;
            case "success": level = NotificationLevel.Success; return true;
            case "warn" or "warning": level = NotificationLevel.Warn; return true;
            case "error": level = NotificationLevel.Error; return true;
            case "fatal": level = NotificationLevel.Fatal; return true;
            default: return false;
        }
    }

    /// <summary>The level an event is sent at.</summary>
    public static NotificationLevel LevelOf(NotificationEvents e) => e switch
    {
        NotificationEvents.Approved or NotificationEvents.UpdateApplied or NotificationEvents.RolloutSucceeded => NotificationLevel.Success,
        NotificationEvents.Rejected or NotificationEvents.Expired => NotificationLevel.Warn,
        NotificationEvents.UpdateFailed or NotificationEvents.RolloutFailed => NotificationLevel.Error,
        _ => NotificationLevel.Info,
    };

    /// <summary>How a person reads the event: the message header.</summary>
    public static string Title(this NotificationEvents e) => e switch
    {
        NotificationEvents.ApprovalRequired => "Approval required",
        NotificationEvents.Approved => "Update approved",
        NotificationEvents.Rejected => "Update rejected",
        NotificationEvents.Expired => "Approval expired",
        NotificationEvents.Superseded => "Approval superseded",
        NotificationEvents.UpdateApplied => "Update applied",
        NotificationEvents.UpdateFailed => "Update failed",
        NotificationEvents.RolloutSucceeded => "Rollout succeeded",
        NotificationEvents.RolloutFailed => "Rollout failed",
        NotificationEvents.Test => "Test message",
        _ => e.ToString(),
    };

    /// <summary>Keel's notification type names where Keel has one (its generic webhook's <c>type</c>), ours otherwise.</summary>
    public static string KeelType(this NotificationEvents e) => e switch
    {
        NotificationEvents.ApprovalRequired => "preparing deployment update",
        NotificationEvents.UpdateApplied or NotificationEvents.UpdateFailed => "deployment update",
        NotificationEvents.Approved => "update approved",
        NotificationEvents.Rejected => "update rejected",
        NotificationEvents.Test => "system event",
        _ => e.Title().ToLowerInvariant(),
    };

    /// <summary>Parses event names from configuration: the enum names, or <c>all</c>, or <c>approvals</c>.</summary>
    public static bool TryParseEvents(IEnumerable<string> names, out NotificationEvents events, out string? unknown)
    {
        events = NotificationEvents.None;
        unknown = null;
        foreach (var raw in names)
        {
            var name = raw.Trim().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal);
            if (name.Length == 0)
            {
                continue;
            }
            if (!Enum.TryParse<NotificationEvents>(name, ignoreCase: true, out var one) || one is NotificationEvents.None or NotificationEvents.Test)
            {
                unknown = raw.Trim();
                return false;
            }
            events |= one;
        }
        return true;
    }
}

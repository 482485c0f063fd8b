using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Notifications;

/// <summary>A channel an administrator added in the console. The webhook URL (or Slack bot token) is stored encrypted.</summary>
public sealed class NotificationChannel
{
    public long Id { get; set; }

    /// <summary>What <c>keel.sh/notify</c> and Helm's <c>notificationChannels</c> refer to; stored in lower case, matched without regard to case.</summary>
    public required string Name { get; set; }

    public ChannelType Type { get; set; }

    /// <summary>The incoming-webhook URL or Slack bot token, encrypted with Data Protection.</summary>
    public required string ProtectedTarget { get; set; }

    /// <summary>What the console shows of the target: scheme and host, never the secret part.</summary>
    public required string MaskedTarget { get; set; }

    public string? Channel { get; set; }
    public string? Username { get; set; }
    public string? IconUrl { get; set; }
    public NotificationEvents Events { get; set; } = NotificationEvents.All;
    public NotificationLevel MinimumLevel { get; set; } = NotificationLevel.Info;
    public bool IsDefault { get; set; }
    public bool Enabled { get; set; } = true;
    public DateTime UpdatedAtUtc { get; set; }
    public required string UpdatedBy { get; set; }
}

internal sealed class NotificationChannelConfiguration : IEntityTypeConfiguration<NotificationChannel>
{
    public void Configure(EntityTypeBuilder<NotificationChannel> builder)
    {
        builder.ToTable("NotificationChannels");
        builder.Property(c => c.Name).HasMaxLength(100);
        builder.HasIndex(c => c.Name).IsUnique();
        builder.Property(c => c.Type).HasConversion<string>().HasMaxLength(20);
        builder.Property(c => c.ProtectedTarget).HasMaxLength(4000);
        builder.Property(c => c.MaskedTarget).HasMaxLength(300);
        builder.Property(c => c.Channel).HasMaxLength(200);
        builder.Property(c => c.Username).HasMaxLength(200);
        builder.Property(c => c.IconUrl).HasMaxLength(1000);
        builder.Property(c => c.MinimumLevel).HasConversion<string>().HasMaxLength(20);
        builder.Property(c => c.UpdatedBy).HasMaxLength(200);
    }
}

/// <summary>
/// A channel ready to use, from the console or from configuration, with its target decrypted. Its
/// <see cref="ToString"/> never shows the target.
/// </summary>
public sealed record ChannelSettings(
    string Name,
    ChannelType Type,
    string Target,
    string? Channel,
    string? Username,
    string? IconUrl,
    NotificationEvents Events,
    NotificationLevel MinimumLevel,
    bool IsDefault,
    bool Enabled,
    string Source,
    long? Id = null)
{
    /// <summary>A Slack bot token (Keel's <c>SLACK_TOKEN</c>) instead of an incoming-webhook URL.</summary>
    public bool IsSlackToken => Type == ChannelType.Slack && ChannelTargets.IsSlackToken(Target);

    public bool FromConfiguration => Id is null;

    public bool Wants(NotificationEvents e, NotificationLevel level) =>
        Enabled && (e == NotificationEvents.Test || ((Events & e) == e && level >= MinimumLevel));

    public override string ToString() => $"{Type} channel {Name} ({Source})";
}

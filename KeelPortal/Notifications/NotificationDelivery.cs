using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Notifications;

public enum DeliveryState { Pending, Retrying, Delivered, Failed }

/// <summary>
/// One message to one channel: what to send (the notification, which holds no secret), and how its attempts went. The
/// last few per channel are the delivery log on the Notifications page.
/// </summary>
public sealed class NotificationDelivery
{
    public long Id { get; set; }

    /// <summary>Lower-case channel name; a channel's deliveries go with it when it is removed.</summary>
    public required string ChannelName { get; set; }

    /// <summary>What caused the message (<c>approval:12:ApprovalRequired</c>); with the channel, unique, so a job run twice sends once.</summary>
    public required string EventKey { get; set; }

    public NotificationEvents Event { get; set; }
    public NotificationLevel Level { get; set; }
    public required string NotificationJson { get; set; }
    public DeliveryState State { get; set; }
    public int Attempts { get; set; }
    public int? StatusCode { get; set; }

    /// <summary>The receiver's answer (shortened) or why there was none; never the target.</summary>
    public string? Answer { get; set; }

    /// <summary>When the event happened: a channel hears of its events in this order, one at a time.</summary>
    public DateTime OccurredAtUtc { get; set; }

    /// <summary>When its job was enqueued; null while it waits behind an earlier delivery to the same channel.</summary>
    public DateTime? QueuedAtUtc { get; set; }

    public DateTime CreatedAtUtc { get; set; }
    public DateTime UpdatedAtUtc { get; set; }
}

internal sealed class NotificationDeliveryConfiguration : IEntityTypeConfiguration<NotificationDelivery>
{
    public void Configure(EntityTypeBuilder<NotificationDelivery> builder)
    {
        builder.ToTable("NotificationDeliveries");
        builder.Property(d => d.ChannelName).HasMaxLength(100);
        builder.Property(d => d.EventKey).HasMaxLength(200);
        builder.Property(d => d.Event).HasConversion<string>().HasMaxLength(30);
        builder.Property(d => d.Level).HasConversion<string>().HasMaxLength(20);
        builder.Property(d => d.State).HasConversion<string>().HasMaxLength(20);
        builder.Property(d => d.NotificationJson).HasMaxLength(8000);
        builder.Property(d => d.Answer).HasMaxLength(1000);
        builder.HasIndex(d => new { d.ChannelName, d.EventKey }).IsUnique();
        builder.HasIndex(d => new { d.ChannelName, d.Id });
        builder.HasIndex(d => new { d.ChannelName, d.State, d.OccurredAtUtc });
    }
}

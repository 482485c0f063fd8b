using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Data;

/// <summary>
/// One row of the outbox: a change others must hear of, written in the same transaction as the change. Every replica
/// reads new rows and tells its own pages; rows that carry work (a notification to raise, an approval to apply) are
/// claimed by one replica and marked handled, so the work is started once however many replicas read it.
/// </summary>
public sealed class PortalEvent
{
    public long Id { get; set; }

    /// <summary>The message's registered name (<see cref="OutboxTypes.Add{T}"/>); nothing else is ever read back.</summary>
    public required string Type { get; set; }

    public required string Payload { get; set; }

    public DateTime OccurredAtUtc { get; set; }

    /// <summary>Whether a handler must act on it once (see <see cref="IEventWork"/>); otherwise pages only.</summary>
    public bool Work { get; set; }

    public string? ClaimedBy { get; set; }

    /// <summary>A claim older than this is given up (its replica stopped mid-way) and another may take the row.</summary>
    public DateTime? ClaimedUntilUtc { get; set; }

    /// <summary>How many times a replica claimed it (a claim whose work failed or whose replica stopped counts).</summary>
    public int Attempts { get; set; }

    public DateTime? HandledAtUtc { get; set; }
}

internal sealed class PortalEventConfiguration : IEntityTypeConfiguration<PortalEvent>
{
    public void Configure(EntityTypeBuilder<PortalEvent> builder)
    {
        builder.ToTable("PortalEvents");
        builder.Property(e => e.Type).HasMaxLength(100);
        builder.Property(e => e.ClaimedBy).HasMaxLength(200);
        builder.HasIndex(e => new { e.Work, e.HandledAtUtc });
        builder.HasIndex(e => e.OccurredAtUtc);
    }
}

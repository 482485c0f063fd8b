using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Audit;

/// <summary>One line of the append-only audit trail.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }

    /// <summary>When it happened, in UTC (SQLite cannot order <see cref="DateTimeOffset"/>).</summary>
    public DateTime OccurredAtUtc { get; set; }

    /// <summary>Who did it: a person's user name, or <c>system</c> for jobs.</summary>
    public required string Actor { get; set; }

    /// <summary>What happened, a short dotted verb such as <c>approval.vote</c>.</summary>
    public required string Action { get; set; }

    /// <summary>What it happened to, such as <c>deployment/default/web</c>.</summary>
    public required string Subject { get; set; }

    public string? Details { get; set; }
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("AuditEntries");
        builder.Property(e => e.Actor).HasMaxLength(200);
        builder.Property(e => e.Action).HasMaxLength(100);
        builder.Property(e => e.Subject).HasMaxLength(AuditTrail.MaxSubject);
        builder.Property(e => e.Details).HasMaxLength(AuditTrail.MaxDetails);
        builder.HasIndex(e => e.OccurredAtUtc);
        builder.HasIndex(e => e.Subject);
    }
}

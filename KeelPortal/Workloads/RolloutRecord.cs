using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Workloads;

/// <summary>One rollout KeelPortal started and followed, and how it ended.</summary>
public sealed class RolloutRecord
{
    public long Id { get; set; }

    /// <summary>
    /// The approval whose apply started it; with the workload and <see cref="Generation"/>, at most one record (a Helm
    /// release's apply starts one per workload the release owns).
    /// </summary>
    public long? ApprovalId { get; set; }

    public required string WorkloadId { get; set; }
    public required string FromVersion { get; set; }
    public required string ToVersion { get; set; }
    public long Generation { get; set; }
    public DateTime StartedAtUtc { get; set; }
    public DateTime? FinishedAtUtc { get; set; }
    public RolloutState State { get; set; }
    public required string Reason { get; set; }

    /// <summary>The trace of the apply that started it; the rollout's span joins it when the rollout ends.</summary>
    public string? TraceParent { get; set; }
}

/// <summary>Published when a followed rollout ends: succeeded, failed or timed out.</summary>
public sealed record RolloutFinished(long RolloutId, string WorkloadId, string FromVersion, string ToVersion, RolloutState State, string Reason);

internal sealed class RolloutRecordConfiguration : IEntityTypeConfiguration<RolloutRecord>
{
    public void Configure(EntityTypeBuilder<RolloutRecord> builder)
    {
        builder.ToTable("Rollouts");
        builder.Property(r => r.WorkloadId).HasMaxLength(600);
        builder.Property(r => r.FromVersion).HasMaxLength(300);
        builder.Property(r => r.ToVersion).HasMaxLength(300);
        builder.Property(r => r.State).HasConversion<string>().HasMaxLength(20);
        builder.Property(r => r.Reason).HasMaxLength(2000);
        builder.Property(r => r.TraceParent).HasMaxLength(100);
        builder.HasIndex(r => new { r.WorkloadId, r.StartedAtUtc });
        builder.HasIndex(r => new { r.ApprovalId, r.WorkloadId, r.Generation }).IsUnique().HasFilter("\"ApprovalId\" IS NOT NULL");
        builder.HasIndex(r => r.State);
    }
}

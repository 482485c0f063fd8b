using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Workloads;

/// <summary>
/// A workload with Keel settings as last seen in the cluster. The columns serve the console's grid (filter, sort,
/// search); <see cref="SnapshotJson"/> holds the whole <see cref="WorkloadSnapshot"/> for the detail page and jobs.
/// </summary>
public sealed class WorkloadRecord
{
    /// <summary>Keel's identifier, <c>deployment/default/web</c>.</summary>
    public required string Id { get; set; }

    public required string Kind { get; set; }
    public required string Namespace { get; set; }
    public required string Name { get; set; }
    public required string Images { get; set; }

    /// <summary>A Helm release's chart and version (<c>app-0.1.0</c>); null for other workloads.</summary>
    public string? Chart { get; set; }

    /// <summary>The tracked repositories, lower case, each between bars (<c>|docker.io/library/nginx|</c>), for lookups by repository.</summary>
    public string Repositories { get; set; } = "";
    public required string Policy { get; set; }
    public required string Trigger { get; set; }
    public string? PollSchedule { get; set; }
    public int ApprovalsRequired { get; set; }

    /// <summary>The policy and approvals keys exactly as written, so the grid shows a broken <c>two</c> as <c>two</c>.</summary>
    public string? PolicyWritten { get; set; }

    public string? ApprovalsWritten { get; set; }
    public bool IsTracked { get; set; }

    /// <summary>Why the workload's settings cannot be used, when they cannot.</summary>
    public string? Error { get; set; }

    public DateTime UpdatedAtUtc { get; set; }
    public required string SnapshotJson { get; set; }
}

internal sealed class WorkloadRecordConfiguration : IEntityTypeConfiguration<WorkloadRecord>
{
    public void Configure(EntityTypeBuilder<WorkloadRecord> builder)
    {
        builder.ToTable("Workloads");
        builder.Property(w => w.Id).HasMaxLength(600);
        builder.Property(w => w.Kind).HasMaxLength(20);
        builder.Property(w => w.Namespace).HasMaxLength(253);
        builder.Property(w => w.Name).HasMaxLength(253);
        builder.Property(w => w.Images).HasMaxLength(4000);
        builder.Property(w => w.Chart).HasMaxLength(300);
        builder.Property(w => w.Repositories).HasMaxLength(4000);
        builder.Property(w => w.Policy).HasMaxLength(500);
        builder.Property(w => w.Trigger).HasMaxLength(20);
        builder.Property(w => w.PollSchedule).HasMaxLength(200);
        builder.Property(w => w.Error).HasMaxLength(4000);
        builder.Property(w => w.PolicyWritten).HasMaxLength(KeelSettings.MaxValueLength);
        builder.Property(w => w.ApprovalsWritten).HasMaxLength(KeelSettings.MaxValueLength);
        builder.HasIndex(w => new { w.Namespace, w.Name });
        builder.HasIndex(w => w.IsTracked);
    }
}

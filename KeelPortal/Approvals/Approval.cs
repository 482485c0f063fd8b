using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Approvals;

public enum ApprovalState { Pending, Approved, Applying, Applied, Failed, Rejected, Expired, Superseded }

/// <summary>
/// One proposed update of one workload to one version: Keel's approval, plus the state machine that makes the apply
/// happen exactly once. Updates that need no votes are recorded the same way (required votes 0, approved at once).
/// </summary>
public sealed class Approval
{
    public long Id { get; set; }

    /// <summary>Keel's identifier: <c>deployment/default/web:1.2.4</c>.</summary>
    public required string Identifier { get; set; }

    public required string WorkloadId { get; set; }
    public required string Repository { get; set; }
    public required string CurrentVersion { get; set; }
    public required string NewVersion { get; set; }
    public string? Digest { get; set; }

    /// <summary>The container images to set, as JSON (<c>[{"container":"app","image":"repo:1.2.4"}]</c>).</summary>
    public required string ImagesJson { get; set; }

    public required string Message { get; set; }
    public int VotesRequired { get; set; }

    /// <summary>The votes it needed when it was proposed; differs from <see cref="VotesRequired"/> after an administrator changed it.</summary>
    public int? VotesRequiredBefore { get; set; }

    /// <summary>Who last changed the votes it needs, and when (shown on its card).</summary>
    public string? VotesRequiredChangedBy { get; set; }

    public DateTime? VotesRequiredChangedAtUtc { get; set; }
    public DateTime DeadlineUtc { get; set; }
    public ApprovalState State { get; set; }

    /// <summary>Why it is in its state: the decision, the reject comment, the failure, what superseded it.</summary>
    public string? Reason { get; set; }

    /// <summary>Hidden from Keel's list (Keel's archive and delete actions); never removed.</summary>
    public bool Archived { get; set; }

    public DateTime CreatedAtUtc { get; set; }
    public DateTime UpdatedAtUtc { get; set; }

    /// <summary>The W3C trace context of the poll or webhook that proposed it, so its apply and rollout join that trace.</summary>
    public string? TraceParent { get; set; }

    /// <summary>When an apply claimed it (state Applying); a claim older than the lease may be resumed.</summary>
    public DateTime? ClaimedAtUtc { get; set; }

    /// <summary>
    /// The fencing token of the current apply claim: a new one per claim. The claimer renews the claim and checks it right
    /// before writing to the cluster, and ends the apply only while it still holds it, so a claimer frozen past its lease
    /// (and taken over) can neither write nor finish.
    /// </summary>
    public string? ClaimToken { get; set; }

    public int ApplyAttempts { get; set; }

    /// <summary>The workload generation the apply produced, which the rollout tracker waits for.</summary>
    public long? Generation { get; set; }

    /// <summary>
    /// Who asked to roll the workload back to <see cref="NewVersion"/> (an earlier applied version, its digest pinned);
    /// null for an update the pipeline proposed. Once applied, the workload is held at that version.
    /// </summary>
    public string? RollbackBy { get; set; }

    /// <summary>
    /// Approved outside its change window or during a freeze: when it may be applied, and why not sooner. The apply runs
    /// when that time comes (looked at again then, and whenever windows or freezes change).
    /// </summary>
    public DateTime? ScheduledForUtc { get; set; }

    public string? ScheduleReason { get; set; }

    /// <summary>The administrator who let this one update past its windows and freezes, and why.</summary>
    public string? OverrideBy { get; set; }

    public string? OverrideReason { get; set; }

    public List<ApprovalVote> Votes { get; set; } = [];
}

/// <summary>One person's vote; the database allows one per person and approval.</summary>
public sealed class ApprovalVote
{
    public long Id { get; set; }
    public long ApprovalId { get; set; }
    public required string Voter { get; set; }
    public bool Approve { get; set; }
    public string? Comment { get; set; }
    public DateTime CastAtUtc { get; set; }
}

internal sealed class ApprovalConfiguration : IEntityTypeConfiguration<Approval>
{
    public void Configure(EntityTypeBuilder<Approval> builder)
    {
        builder.ToTable("Approvals");
        builder.Property(a => a.Identifier).HasMaxLength(900);
        builder.Property(a => a.WorkloadId).HasMaxLength(600);
        builder.Property(a => a.Repository).HasMaxLength(500);
        builder.Property(a => a.CurrentVersion).HasMaxLength(300);
        builder.Property(a => a.NewVersion).HasMaxLength(300);
        builder.Property(a => a.Digest).HasMaxLength(100);
        builder.Property(a => a.ImagesJson).HasMaxLength(8000);
        builder.Property(a => a.Message).HasMaxLength(2000);
        builder.Property(a => a.Reason).HasMaxLength(2000);
        builder.Property(a => a.VotesRequiredChangedBy).HasMaxLength(200);
        builder.Property(a => a.RollbackBy).HasMaxLength(256);
        builder.Property(a => a.ScheduleReason).HasMaxLength(2000);
        builder.Property(a => a.OverrideBy).HasMaxLength(256);
        builder.Property(a => a.OverrideReason).HasMaxLength(500);
        builder.Property(a => a.ClaimToken).HasMaxLength(40);
        builder.Property(a => a.State).HasConversion<string>().HasMaxLength(20);
        builder.HasIndex(a => new { a.WorkloadId, a.State });
        // At most one pending approval per workload, even when a poll and a webhook propose at the same moment.
        builder.HasIndex(a => a.WorkloadId).IsUnique().HasFilter("\"State\" = 'Pending'").HasDatabaseName("IX_Approvals_OnePendingPerWorkload");
        builder.HasIndex(a => a.Identifier);
        builder.HasIndex(a => new { a.State, a.DeadlineUtc });
        builder.HasMany(a => a.Votes).WithOne().HasForeignKey(v => v.ApprovalId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ApprovalVoteConfiguration : IEntityTypeConfiguration<ApprovalVote>
{
    public void Configure(EntityTypeBuilder<ApprovalVote> builder)
    {
        builder.ToTable("ApprovalVotes");
        builder.Property(v => v.Voter).HasMaxLength(200);
        builder.Property(v => v.Comment).HasMaxLength(2000);
        builder.HasIndex(v => new { v.ApprovalId, v.Voter }).IsUnique();
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Data;

/// <summary>
/// One row of the outbox: a change others must hear of, written in the same transaction as the change. Every replica
/// reads new rows and tells its own pages; rows that carry work (a notification to raise, an approval to apply) are
/// claimed by one replica and marked handled, so the work is done once however many replicas read it (see
/// <see cref="WorkRunner"/>: one claim with one lease, renewed while the work runs, fenced by <see cref="ClaimToken"/>).
/// </summary>
public sealed class PortalEvent
{
    public long Id { get; set; }

    /// <summary>The message's registered name (<see cref="OutboxTypes.Add{T}"/>); nothing else is ever read back.</summary>
    public required string Type { get; set; }

    public required string Payload { get; set; }

    public DateTime OccurredAtUtc { get; set; }

    /// <summary>Whether a handler must act on it once (see <see cref="IMessageHandler{TMessage}"/>); otherwise pages only.</summary>
    public bool Work { get; set; }

    public string? ClaimedBy { get; set; }

    /// <summary>A claim older than this is given up (its replica stopped mid-way) and another may take the row.</summary>
    public DateTime? ClaimedUntilUtc { get; set; }

    /// <summary>
    /// The fencing token of the current claim: every renewal, every end of the work and every side effect's last check
    /// is conditional on it, so a claim that ran out (and was taken by another) can neither act nor finish.
    /// </summary>
    public string? ClaimToken { get; set; }

    /// <summary>How many times a replica claimed it (a claim whose work failed or whose replica stopped counts).</summary>
    public int Attempts { get; set; }

    /// <summary>Not to be claimed before this (a retry's backoff, or work that waits for its time, such as a change window).</summary>
    public DateTime? NextAttemptAtUtc { get; set; }

    /// <summary>Why the last attempt did not finish the work (a retry's reason, or a dead letter's).</summary>
    public string? LastError { get; set; }

    public DateTime? HandledAtUtc { get; set; }

    /// <summary>Given up after <see cref="WorkOptions.MaxAttempts"/>: a dead letter, shown in the console, audited and counted.</summary>
    public DateTime? DeadAtUtc { get; set; }

    /// <summary>
    /// Not stored: this process's monotonic timestamp, taken before the wall-clock time its claim's lease counts from
    /// (see <see cref="WorkContext.StillHolds"/>); 0 when this process did not claim it.
    /// </summary>
    internal long ClaimedAtTimestamp { get; set; }
}

internal sealed class PortalEventConfiguration : IEntityTypeConfiguration<PortalEvent>
{
    public void Configure(EntityTypeBuilder<PortalEvent> builder)
    {
        builder.ToTable("PortalEvents");
        builder.Ignore(e => e.ClaimedAtTimestamp);
        builder.Property(e => e.Type).HasMaxLength(100);
        builder.Property(e => e.ClaimedBy).HasMaxLength(200);
        builder.Property(e => e.ClaimToken).HasMaxLength(32);
        builder.Property(e => e.LastError).HasMaxLength(1000);
        builder.HasIndex(e => e.ClaimToken);
        builder.HasIndex(e => new { e.Work, e.HandledAtUtc });
        builder.HasIndex(e => e.OccurredAtUtc);
    }
}

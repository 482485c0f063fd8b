using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Updates;

/// <summary>A workload held by someone: nothing is proposed for it until <see cref="UntilUtc"/> or until released.</summary>
public sealed class WorkloadHold
{
    public required string WorkloadId { get; set; }
    public required string Reason { get; set; }
    public required string HeldBy { get; set; }
    public DateTime HeldAtUtc { get; set; }

    /// <summary>When the hold ends by itself; null: until someone releases it.</summary>
    public DateTime? UntilUtc { get; set; }

    /// <summary>The holds in force at <paramref name="nowUtc"/> (one that has run out is not): the one test, in the database.</summary>
    public static IQueryable<WorkloadHold> ActiveAt(IQueryable<WorkloadHold> holds, DateTime nowUtc) =>
        holds.Where(h => h.UntilUtc == null || h.UntilUtc > nowUtc);
}

/// <summary>A version declined for a workload without an approval having existed: it is never proposed for it.</summary>
public sealed class VersionSkip
{
    public long Id { get; set; }
    public required string WorkloadId { get; set; }
    public required string Version { get; set; }
    public required string Reason { get; set; }
    public required string SkippedBy { get; set; }
    public DateTime SkippedAtUtc { get; set; }
}

internal sealed class WorkloadHoldConfiguration : IEntityTypeConfiguration<WorkloadHold>
{
    public void Configure(EntityTypeBuilder<WorkloadHold> builder)
    {
        builder.ToTable("WorkloadHolds");
        builder.HasKey(h => h.WorkloadId);
        builder.Property(h => h.WorkloadId).HasMaxLength(600);
        builder.Property(h => h.Reason).HasMaxLength(Holds.MaxReason);
        builder.Property(h => h.HeldBy).HasMaxLength(256);
    }
}

internal sealed class VersionSkipConfiguration : IEntityTypeConfiguration<VersionSkip>
{
    public void Configure(EntityTypeBuilder<VersionSkip> builder)
    {
        builder.ToTable("VersionSkips");
        builder.Property(s => s.WorkloadId).HasMaxLength(600);
        builder.Property(s => s.Version).HasMaxLength(300);
        builder.Property(s => s.Reason).HasMaxLength(Holds.MaxReason);
        builder.Property(s => s.SkippedBy).HasMaxLength(256);
        builder.HasIndex(s => new { s.WorkloadId, s.Version }).IsUnique();
    }
}

public enum HoldOutcome { Done, Unchanged, NoSuchWorkload, Invalid }

public sealed record HoldResult(HoldOutcome Outcome, string Message);

/// <summary>
/// Holds and skips, from the console and the API alike (Approver or Admin; the callers check the role). A hold
/// supersedes the workload's pending approval and stops proposals until it ends; a skip declines one version (a
/// pending approval of it is superseded). Each is audited and refreshes the pages.
/// </summary>
public sealed class Holds(
    IDbContextFactory<PortalDbContext> contexts, WorkloadStore workloads, ApprovalBook approvals, AuditTrail audit, Outbox outbox, TimeProvider time)
{
    public const int MaxReason = AuditReason.MaxLength;

    public async Task<HoldResult> HoldAsync(string workloadId, string? reason, DateTime? untilUtc, string actor, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (AuditReason.Problem(reason) is { } problem)
        {
            return new(HoldOutcome.Invalid, problem);
        }
        if (untilUtc is { } until && until <= now)
        {
            return new(HoldOutcome.Invalid, $"the hold would end at {until:u}, which has passed");
        }
        if (await workloads.GetAsync(workloadId, ct) is null)
        {
            return new(HoldOutcome.NoSuchWorkload, $"there is no workload {workloadId}");
        }
        var text = reason!.Trim();
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var hold = await db.Set<WorkloadHold>().SingleOrDefaultAsync(h => h.WorkloadId == workloadId, ct);
            if (hold is null)
            {
                db.Add(hold = new WorkloadHold { WorkloadId = workloadId, Reason = text, HeldBy = actor, HeldAtUtc = now, UntilUtc = untilUtc });
            }
            else
            {
                (hold.Reason, hold.HeldBy, hold.HeldAtUtc, hold.UntilUtc) = (text, actor, now, untilUtc);
            }
            outbox.Stage(db, new WorkloadsChanged([workloadId]));
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation())
            {
                return new(HoldOutcome.Unchanged, $"{workloadId} was held by someone else at the same moment");
            }
        }
        var superseded = await approvals.SupersedePendingAsync(workloadId, null, $"the workload was held by {actor}: {text}", ct);
        var lasting = untilUtc is { } u ? $"until {u:u}" : "until released";
        await audit.RecordAsync(actor, AuditActions.WorkloadHold, workloadId, $"{lasting}: {text}{(superseded > 0 ? "; the pending approval was superseded" : "")}", ct);
        return new(HoldOutcome.Done, $"{workloadId} is held {lasting}");
    }

    public async Task<HoldResult> ReleaseAsync(string workloadId, string actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var hold = await db.Set<WorkloadHold>().SingleOrDefaultAsync(h => h.WorkloadId == workloadId, ct);
        if (hold is null)
        {
            return new(HoldOutcome.Unchanged, $"{workloadId} is not held");
        }
        db.Remove(hold);
        outbox.Stage(db, new WorkloadsChanged([workloadId]));
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, AuditActions.WorkloadRelease, workloadId, $"held by {hold.HeldBy} since {hold.HeldAtUtc:u}: {hold.Reason}", ct);
        return new(HoldOutcome.Done, $"{workloadId} is released");
    }

    /// <summary>The hold in force on the workload now, if any (one that has run out is not).</summary>
    public async Task<WorkloadHold?> ActiveAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await WorkloadHold.ActiveAt(db.Set<WorkloadHold>().AsNoTracking(), time.GetUtcNow().UtcDateTime)
            .SingleOrDefaultAsync(h => h.WorkloadId == workloadId, ct);
    }

    /// <summary>Every hold in force now, by workload (for the workloads list).</summary>
    public async Task<IReadOnlyDictionary<string, WorkloadHold>> AllActiveAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var holds = await WorkloadHold.ActiveAt(db.Set<WorkloadHold>().AsNoTracking(), now).ToListAsync(ct);
        return holds.ToDictionary(h => h.WorkloadId, StringComparer.Ordinal);
    }

    public async Task<HoldResult> SkipAsync(string workloadId, string? version, string? reason, string actor, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(version) || !Registries.ImageReference.IsTag(version.Trim()))
        {
            return new(HoldOutcome.Invalid,
                $"'{LogText.Clean(version, 80)}' is not a tag: name the version to skip (1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-')");
        }
        if (AuditReason.Problem(reason) is { } problem)
        {
            return new(HoldOutcome.Invalid, problem);
        }
        if (await workloads.GetAsync(workloadId, ct) is null)
        {
            return new(HoldOutcome.NoSuchWorkload, $"there is no workload {workloadId}");
        }
        var (tag, text) = (version.Trim(), reason!.Trim());
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            db.Add(new VersionSkip { WorkloadId = workloadId, Version = tag, Reason = text, SkippedBy = actor, SkippedAtUtc = time.GetUtcNow().UtcDateTime });
            outbox.Stage(db, new WorkloadsChanged([workloadId]));
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation())
            {
                return new(HoldOutcome.Unchanged, $"{tag} is already skipped for {workloadId}");
            }
        }
        var superseded = await approvals.SupersedePendingAsync(workloadId, tag, $"{tag} was skipped by {actor}: {text}", ct);
        await audit.RecordAsync(actor, AuditActions.VersionSkip, $"{workloadId}:{tag}", $"{text}{(superseded > 0 ? "; its pending approval was superseded" : "")}", ct);
        return new(HoldOutcome.Done, $"{tag} is skipped for {workloadId}");
    }

    public async Task<HoldResult> UnskipAsync(string workloadId, string version, string actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var skip = await db.Set<VersionSkip>().SingleOrDefaultAsync(s => s.WorkloadId == workloadId && s.Version == version, ct);
        if (skip is null)
        {
            return new(HoldOutcome.Unchanged, $"{version} is not skipped for {workloadId}");
        }
        db.Remove(skip);
        outbox.Stage(db, new WorkloadsChanged([workloadId]));
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, AuditActions.VersionUnskip, $"{workloadId}:{version}", $"skipped by {skip.SkippedBy}: {skip.Reason}", ct);
        return new(HoldOutcome.Done, $"{version} may be proposed for {workloadId} again");
    }

    public async Task<IReadOnlyList<VersionSkip>> SkipsAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<VersionSkip>().AsNoTracking().Where(s => s.WorkloadId == workloadId).OrderBy(s => s.SkippedAtUtc).ToListAsync(ct);
    }

    /// <summary>The versions declined for a workload: rejected or expired approvals, and skipped versions. None is proposed again.</summary>
    public async Task<IReadOnlySet<string>> DeclinedVersionsAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var versions = await db.Set<Approval>()
            .Where(a => a.WorkloadId == workloadId && (a.State == ApprovalState.Rejected || a.State == ApprovalState.Expired)).Select(a => a.NewVersion)
            .Union(db.Set<VersionSkip>().Where(s => s.WorkloadId == workloadId).Select(s => s.Version))
            .ToListAsync(ct);
        return versions.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>"held by alice until 2026-12-07 09:00Z: database migration" (how the list and the page say it).</summary>
    public static string Describe(WorkloadHold hold)
    {
        ArgumentNullException.ThrowIfNull(hold);
        return $"held by {hold.HeldBy} {(hold.UntilUtc is { } until ? $"until {until:yyyy-MM-dd HH:mm}Z" : "until released")}: {hold.Reason}";
    }
}

using KeelPortal.Audit;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

public sealed partial class ApprovalBook
{
    /// <summary>
    /// An approved approval waits for its change window or the end of a freeze: records when and why. True only for the
    /// caller that changed the time (so the wait is audited once however many replicas looked).
    /// </summary>
    public async Task<bool> ScheduleAsync(long approvalId, DateTime atUtc, string reason, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var moved = await db.Set<Approval>()
            .Where(a => a.Id == approvalId && a.State == ApprovalState.Approved && a.OverrideBy == null && (a.ScheduledForUtc == null || a.ScheduledForUtc != atUtc))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.ScheduledForUtc, atUtc).SetProperty(a => a.ScheduleReason, reason)
                .SetProperty(a => a.UpdatedAtUtc, now), ct);
        if (moved == 0)
        {
            return false;
        }
        var workload = await db.Set<Approval>().Where(a => a.Id == approvalId).Select(a => a.WorkloadId).SingleAsync(ct);
        outbox.Stage(db, new ApprovalChanged(approvalId, workload, ApprovalState.Approved, StateMoved: false));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// A window or freeze changed: every approved approval waiting for its time is looked at again now (its apply work
    /// staged anew; the one that was waiting finds it applied, or waiting again, when its own time comes).
    /// </summary>
    public async Task<int> RescheduleAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var waiting = await db.Set<Approval>().Where(a => a.State == ApprovalState.Approved && a.ScheduledForUtc > now).Select(a => a.Id).ToListAsync(ct);
        await db.Set<Approval>().Where(a => waiting.Contains(a.Id)).ExecuteUpdateAsync(s => s.SetProperty(a => a.ScheduledForUtc, now), ct);
        foreach (var id in waiting)
        {
            StageApply(db, id);
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return waiting.Count;
    }

    /// <summary>
    /// An administrator lets one update past its windows and freezes, with a reason: a pending one is applied as soon as
    /// it is approved, an approved one at once. Audited.
    /// </summary>
    public async Task<VoteResult> OverrideScheduleAsync(long approvalId, string actor, string? reason, CancellationToken ct = default)
    {
        if (Audit.AuditReason.Problem(reason) is { } problem)
        {
            return new(VoteOutcome.Invalid, problem);
        }
        var text = reason!.Trim();
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var row = await db.Set<Approval>().AsNoTracking().SingleOrDefaultAsync(a => a.Id == approvalId, ct);
        if (row is null)
        {
            return new(VoteOutcome.NotFound, $"there is no approval {approvalId}");
        }
        var moved = await db.Set<Approval>()
            .Where(a => a.Id == approvalId && (a.State == ApprovalState.Pending || a.State == ApprovalState.Approved) && a.OverrideBy == null)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.OverrideBy, actor).SetProperty(a => a.OverrideReason, text)
                .SetProperty(a => a.ScheduledForUtc, (DateTime?)null).SetProperty(a => a.UpdatedAtUtc, now), ct);
        if (moved == 0)
        {
            return new(VoteOutcome.NotPending, row.OverrideBy is not null
                ? $"{row.Identifier} was already let past its windows by {row.OverrideBy}"
                : $"{row.Identifier} is {row.State.ToString().ToLowerInvariant()}; only a pending or approved update can be let past its windows");
        }
        outbox.Stage(db, new ApprovalChanged(approvalId, row.WorkloadId, row.State, StateMoved: false));
        audit.Stage(db, actor, AuditActions.ApplyOverride, row.Identifier,
            $"{text}{(row.ScheduleReason is { } why && row.State == ApprovalState.Approved ? $" (it was waiting: {why})" : "")}");
        if (row.State == ApprovalState.Approved)
        {
            StageApply(db, approvalId);
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return new(VoteOutcome.Counted, $"{row.Identifier} may be applied outside its windows and freezes", row);
    }
}

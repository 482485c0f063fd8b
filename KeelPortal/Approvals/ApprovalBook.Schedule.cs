using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

public sealed partial class ApprovalBook
{
    /// <summary>
    /// An approved approval waits for its change window or the end of a freeze: records when and why. True only for the
    /// caller that changed the time (so the wait is audited once however many replicas looked).
    /// </summary>
    public async Task<bool> ScheduleAsync(long approvalId, DateTime atUtc, string reason, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.Schedule(atUtc, reason), ct)).Decision.Accepted;

    /// <summary>
    /// A window or freeze changed: every approved approval waiting for its time is looked at again now (its apply work
    /// staged anew; the one that was waiting finds it applied, or waiting again, when its own time comes).
    /// </summary>
    public async Task<int> RescheduleAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        List<long> waiting;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            waiting = await db.Set<Approval>().Where(a => a.State == ApprovalState.Approved && a.ScheduledForUtc > now).Select(a => a.Id).ToListAsync(ct);
        }
        return await CountAcceptedAsync(waiting, new ApprovalCommand.Reschedule(now), ct);
    }

    /// <summary>
    /// An administrator lets one update past its windows and freezes, with a reason: a pending one is applied as soon as
    /// it is approved, an approved one at once. Audited.
    /// </summary>
    public async Task<VoteResult> OverrideScheduleAsync(long approvalId, string actor, string? reason, CancellationToken ct = default)
    {
        var (decision, row) = await RunAsync(approvalId, new ApprovalCommand.Override(actor, reason ?? ""), ct);
        return decision.Refused switch
        {
            null => new(VoteOutcome.Counted, decision.Reason, row),
            Refusal.NotFound => new(VoteOutcome.NotFound, $"there is no approval {approvalId}"),
            Refusal.Invalid => new(VoteOutcome.Invalid, decision.Reason),
            _ => new(VoteOutcome.NotPending, decision.Reason, row),
        };
    }
}

using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Overview;

public sealed record OverviewNumbers(
    int Tracked, int AppliedToday, int FailedToday, IReadOnlyList<AuditEntry> Recent,
    IReadOnlyDictionary<KeelPortal.Updates.WorkloadStatus, int> Statuses)
{
    public int In(KeelPortal.Updates.WorkloadStatus status) => Statuses.GetValueOrDefault(status);
}

/// <summary>The Overview's numbers: a query each, and the workloads per status from the board.</summary>
public sealed class OverviewFacts(IDbContextFactory<PortalDbContext> contexts, KeelPortal.Updates.WorkloadBoard board, AuditTrail audit, TimeProvider time)
{
    public async Task<OverviewNumbers> ReadAsync(CancellationToken ct = default)
    {
        var today = time.GetUtcNow().UtcDateTime.Date;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var tracked = await db.Set<WorkloadRecord>().CountAsync(w => w.IsTracked, ct);
        var applied = await db.Set<Approval>().CountAsync(a => a.State == ApprovalState.Applied && a.UpdatedAtUtc >= today, ct);
        var failed = await db.Set<Approval>().CountAsync(a => a.State == ApprovalState.Failed && a.UpdatedAtUtc >= today, ct)
            + await db.Set<RolloutRecord>().CountAsync(r => (r.State == RolloutState.Failed || r.State == RolloutState.TimedOut) && r.StartedAtUtc >= today, ct);
        var recent = await audit.QueryAsync(new AuditQuery(PageSize: 8), ct);
        return new OverviewNumbers(tracked, applied, failed, recent.Entries, await board.CountsAsync(ct));
    }
}

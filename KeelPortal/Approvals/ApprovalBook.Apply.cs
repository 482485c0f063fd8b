using System.Text.Json;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

public sealed partial class ApprovalBook
{
    /// <summary>
    /// Claims an approved approval for applying under the apply work's claim <paramref name="claimToken"/>
    /// (<see cref="Data.WorkContext.Token"/>): Approved → Applying, or an Applying one whose claim no live work holds any
    /// more (its applier stopped or froze past its lease). Only one caller gets it; the claim it replaces can no longer
    /// write or finish. The claim's <c>apply.started</c> audit entry commits with it.
    /// </summary>
    public async Task<Approval?> TryClaimAsync(long approvalId, string claimToken, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var live = Claims.Live(db, now);
        var claimed = await db.Set<Approval>()
            .Where(a => a.Id == approvalId && (a.State == ApprovalState.Approved
                || (a.State == ApprovalState.Applying && a.ClaimToken != claimToken && !live.Any(e => e.ClaimToken == a.ClaimToken))))
            .ExecuteUpdateAsync(s => s
                .SetProperty(a => a.State, ApprovalState.Applying)
                .SetProperty(a => a.ClaimedAtUtc, now)
                .SetProperty(a => a.ClaimToken, claimToken)
                .SetProperty(a => a.ApplyAttempts, a => a.ApplyAttempts + 1)
                .SetProperty(a => a.UpdatedAtUtc, now), ct);
        if (claimed == 0)
        {
            return null;
        }
        var approval = await db.Set<Approval>().AsNoTracking().SingleAsync(a => a.Id == approvalId, ct);
        outbox.Stage(db, new ApprovalChanged(approval.Id, approval.WorkloadId, ApprovalState.Applying));
        audit.Stage(db, System, AuditActions.ApplyStarted, approval.Identifier, $"{approval.CurrentVersion} -> {approval.NewVersion} (attempt {approval.ApplyAttempts})");
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return approval;
    }

    /// <summary>Whether the apply claim <paramref name="claimToken"/> still holds the approval (part of the fence before a write).</summary>
    public async Task<bool> HoldsClaimAsync(long approvalId, string claimToken, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().AnyAsync(a => a.Id == approvalId && a.State == ApprovalState.Applying && a.ClaimToken == claimToken, ct);
    }

    /// <summary>
    /// Ends an apply: Applying → Applied or Failed (audited <c>apply.succeeded</c> or <c>apply.failed</c> in the same
    /// transaction), with the reason and the generation to follow, only while the claim
    /// <paramref name="claimToken"/> holds (false: it ran out and another applier took over; nothing is written).
    /// <paramref name="fromVersion"/>, when given, is the version the workload really ran when it was patched; it
    /// replaces the one the proposal saw.
    /// </summary>
    public async Task<bool> FinishAsync(
        long approvalId, string? claimToken, bool succeeded, string reason, long? generation, string? fromVersion = null, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var to = succeeded ? ApprovalState.Applied : ApprovalState.Failed;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var row = await db.Set<Approval>().AsNoTracking().SingleAsync(a => a.Id == approvalId, ct);
        var from = fromVersion ?? row.CurrentVersion;
        var message = row.RollbackBy is null ? MessageOf(row.WorkloadId, from, row.NewVersion) : row.Message;
        var moved = await db.Set<Approval>().Where(a => a.Id == approvalId && a.State == ApprovalState.Applying && (claimToken == null || a.ClaimToken == claimToken))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, to).SetProperty(a => a.Reason, reason)
                .SetProperty(a => a.CurrentVersion, from).SetProperty(a => a.Message, message)
                .SetProperty(a => a.Generation, generation).SetProperty(a => a.UpdatedAtUtc, now), ct);
        if (moved == 0)
        {
            return false; // Not this claim's any more (another applier took it over or finished it).
        }
        outbox.Stage(db, new ApprovalChanged(approvalId, row.WorkloadId, to));
        // Its audit entry commits with it: whoever sees the approval ended sees why.
        audit.Stage(db, System, succeeded ? AuditActions.ApplySucceeded : AuditActions.ApplyFailed, row.Identifier, reason);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        LogChange(approvalId, ApprovalState.Applying, to, reason);
        return true;
    }

    /// <summary>
    /// The approved tag was pushed again before it was applied: Applying → Pending, votes cleared, the new digest
    /// recorded, so the people who approved the old image decide on the new one.
    /// </summary>
    public async Task<bool> ReturnForNewDigestAsync(long approvalId, string digest, string? claimToken = null, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var previous = await db.Set<Approval>().Where(a => a.Id == approvalId).Select(a => new { a.Digest, a.Identifier, a.WorkloadId }).SingleAsync(ct);
        if (await db.Set<Approval>().AnyAsync(a => a.WorkloadId == previous.WorkloadId && a.State == ApprovalState.Pending && a.Id != approvalId, ct))
        {
            // A newer version already waits for votes: this one steps aside rather than compete for the one pending slot.
            await transaction.RollbackAsync(ct);
            return await MoveAsync(approvalId, ApprovalState.Applying, ApprovalState.Superseded,
                $"the tag was pushed again with digest {digest} before it was applied, and a newer version is pending", ct, claimToken: claimToken);
        }
        var reason = $"the tag was pushed again with digest {digest} before it was applied; votes reset";
        var moved = await db.Set<Approval>().Where(a => a.Id == approvalId && a.State == ApprovalState.Applying && (claimToken == null || a.ClaimToken == claimToken))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, ApprovalState.Pending).SetProperty(a => a.Digest, digest)
                .SetProperty(a => a.Reason, reason).SetProperty(a => a.UpdatedAtUtc, now), ct);
        if (moved == 0)
        {
            return false;
        }
        var cleared = await db.Set<ApprovalVote>().Where(v => v.ApprovalId == approvalId).ExecuteDeleteAsync(ct);
        outbox.Stage(db, new ApprovalChanged(approvalId, previous.WorkloadId, ApprovalState.Pending));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        LogChange(approvalId, ApprovalState.Applying, ApprovalState.Pending, reason);
        await audit.RecordAsync(System, AuditActions.ApprovalVotesReset, previous.Identifier, $"digest {previous.Digest} -> {digest} at apply; {cleared} vote(s) cleared", ct);
        return true;
    }

    /// <summary>
    /// At the moment of the write the target was no longer an update of what the workload runs (a newer version got
    /// there first): Applying → Superseded, with the reason; its <c>apply.superseded</c> audit entry commits with it.
    /// </summary>
    public Task<bool> SupersedeAppliedAsync(long approvalId, string? claimToken, string reason, CancellationToken ct = default) =>
        MoveAsync(approvalId, ApprovalState.Applying, ApprovalState.Superseded, reason, ct, auditAction: AuditActions.ApplySuperseded, claimToken: claimToken);

    /// <summary>
    /// A person asks for a failed apply to be tried again: Failed → Approved, its attempts counted afresh, and applied at
    /// once (the apply decides again against what the workload runs then). False when it is not failed (any more).
    /// </summary>
    public async Task<bool> RetryAsync(long approvalId, string actor, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var reason = $"tried again by {actor}";
        var moved = await db.Set<Approval>().Where(a => a.Id == approvalId && a.State == ApprovalState.Failed)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, ApprovalState.Approved).SetProperty(a => a.ApplyAttempts, 0)
                .SetProperty(a => a.Reason, reason).SetProperty(a => a.UpdatedAtUtc, now), ct);
        if (moved == 0)
        {
            return false;
        }
        var row = await db.Set<Approval>().AsNoTracking().Where(a => a.Id == approvalId).Select(a => new { a.WorkloadId, a.Identifier }).SingleAsync(ct);
        outbox.Stage(db, new ApprovalChanged(approvalId, row.WorkloadId, ApprovalState.Approved));
        audit.Stage(db, actor, AuditActions.ApplyRetried, row.Identifier, reason);
        StageApply(db, approvalId);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        LogChange(approvalId, ApprovalState.Failed, ApprovalState.Approved, reason);
        return true;
    }

    /// <summary>The workload an approval is for, or null when there is no such approval.</summary>
    public async Task<string?> WorkloadOfAsync(long approvalId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().Where(a => a.Id == approvalId).Select(a => a.WorkloadId).FirstOrDefaultAsync(ct);
    }

    /// <summary>Its apply work was given up before it could claim it: Approved → Failed, with the reason (audited <c>apply.failed</c>).</summary>
    public Task<bool> FailApprovedAsync(long approvalId, string reason, CancellationToken ct = default) =>
        MoveAsync(approvalId, ApprovalState.Approved, ApprovalState.Failed, reason, ct, auditAction: AuditActions.ApplyFailed);

    /// <summary>Gives an apply back after a failure worth retrying: Applying → Approved.</summary>
    public Task<bool> ReleaseAsync(long approvalId, string reason, string? claimToken = null, CancellationToken ct = default) =>
        MoveAsync(approvalId, ApprovalState.Applying, ApprovalState.Approved, reason, ct, claimToken: claimToken);

    public static IReadOnlyList<ImageUpdate> ImagesOf(Approval approval) =>
        JsonSerializer.Deserialize<List<ImageUpdate>>(approval.ImagesJson, WorkloadStore.Json) ?? [];

    public async Task<Approval?> GetAsync(long approvalId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().AsNoTracking().Include(a => a.Votes).SingleOrDefaultAsync(a => a.Id == approvalId, ct);
    }

    /// <summary>The newest approval with Keel's identifier (<c>deployment/ns/name:tag</c>).</summary>
    public async Task<Approval?> FindAsync(string identifier, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().AsNoTracking().Include(a => a.Votes)
            .Where(a => a.Identifier == identifier).OrderByDescending(a => a.Id).FirstOrDefaultAsync(ct);
    }

    /// <summary>Approvals that needed votes (Keel's list), newest first; archived ones only when asked.</summary>
    public async Task<IReadOnlyList<Approval>> ListAsync(bool includeArchived = false, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().AsNoTracking().Include(a => a.Votes)
            .Where(a => a.VotesRequired > 0 && (includeArchived || !a.Archived))
            .OrderByDescending(a => a.Id).ToListAsync(ct);
    }

    /// <summary>The newest approvals of every kind (automatic updates included), for the console.</summary>
    public async Task<IReadOnlyList<Approval>> RecentAsync(int take = 500, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().AsNoTracking().Include(a => a.Votes).OrderByDescending(a => a.Id).Take(take).ToListAsync(ct);
    }

    public async Task<IReadOnlyList<Approval>> ForWorkloadAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().AsNoTracking().Include(a => a.Votes)
            .Where(a => a.WorkloadId == workloadId).OrderBy(a => a.Id).ToListAsync(ct);
    }

    /// <summary>The version of the workload's approval in flight (pending, approved or applying), or null.</summary>
    public async Task<string?> OpenVersionAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>()
            .Where(a => a.WorkloadId == workloadId && (a.State == ApprovalState.Pending || a.State == ApprovalState.Approved || a.State == ApprovalState.Applying))
            .Select(a => a.NewVersion).FirstOrDefaultAsync(ct);
    }
}

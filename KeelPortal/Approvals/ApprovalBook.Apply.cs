using System.Text.Json;
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
        var (decision, row) = await RunAsync(approvalId, new ApprovalCommand.Claim(claimToken), ct);
        return decision.Accepted ? row : null;
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
        long approvalId, string? claimToken, bool succeeded, string reason, long? generation, string? fromVersion = null, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.Finish(claimToken, succeeded, reason, generation, fromVersion), ct)).Decision.Accepted;

    /// <summary>
    /// The approved tag was pushed again before it was applied: Applying → Pending, votes cleared, the new digest
    /// recorded, so the people who approved the old image decide on the new one (Superseded instead when a newer version
    /// already waits for votes).
    /// </summary>
    public async Task<bool> ReturnForNewDigestAsync(long approvalId, string digest, string? claimToken = null, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.NewDigestAtApply(claimToken, digest), ct)).Decision.Accepted;

    /// <summary>
    /// At the moment of the write the target was no longer an update of what the workload runs (a newer version got
    /// there first): Applying → Superseded, with the reason; its <c>apply.superseded</c> audit entry commits with it.
    /// </summary>
    public async Task<bool> SupersedeAppliedAsync(long approvalId, string? claimToken, string reason, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.SupersedeAtApply(claimToken, reason), ct)).Decision.Accepted;

    /// <summary>
    /// Whether an earlier attempt of <paramref name="approval"/> wrote its target (and stopped, or froze, before it
    /// recorded that), asked when a later attempt finds the workload already past it: <see cref="EarlierWrite.Landed"/>
    /// when a later approval of the workload started from the target (proposed while it ran, or applied over it: an
    /// applied approval's from-version is the one it really replaced); <see cref="EarlierWrite.Unsettled"/> while a
    /// later one is being applied (the version it replaces is recorded only when it ends); else
    /// <see cref="EarlierWrite.None"/>. Only an approval claimed more than once can
    /// have such an earlier write.
    /// </summary>
    public async Task<EarlierWrite> EarlierWriteAsync(Approval approval, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(approval);
        if (approval.ApplyAttempts < 2 || approval.RollbackBy is not null)
        {
            return EarlierWrite.None;
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var later = db.Set<Approval>().Where(a => a.Id > approval.Id && a.WorkloadId == approval.WorkloadId && a.Repository == approval.Repository);
        if (await later.AnyAsync(a => a.CurrentVersion == approval.NewVersion, ct))
        {
            return EarlierWrite.Landed;
        }
        return await later.AnyAsync(a => a.State == ApprovalState.Applying, ct) ? EarlierWrite.Unsettled : EarlierWrite.None;
    }

    /// <summary>
    /// A person asks for a failed apply to be tried again: Failed → Approved, its attempts counted afresh, and applied at
    /// once (the apply decides again against what the workload runs then). False when it is not failed (any more).
    /// </summary>
    public async Task<bool> RetryAsync(long approvalId, string actor, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.Retry(actor), ct)).Decision.Accepted;

    /// <summary>The workload an approval is for, or null when there is no such approval.</summary>
    public async Task<string?> WorkloadOfAsync(long approvalId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().Where(a => a.Id == approvalId).Select(a => a.WorkloadId).FirstOrDefaultAsync(ct);
    }

    /// <summary>Its apply work was given up before it could claim it: Approved → Failed, with the reason (audited <c>apply.failed</c>).</summary>
    public async Task<bool> FailApprovedAsync(long approvalId, string reason, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.GiveUp(reason), ct)).Decision.Accepted;

    /// <summary>Gives an apply back after a failure worth retrying: Applying → Approved.</summary>
    public async Task<bool> ReleaseAsync(long approvalId, string reason, string? claimToken = null, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.Release(claimToken, reason), ct)).Decision.Accepted;

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

/// <summary>What a later attempt of an apply knows about an earlier attempt's write (<see cref="ApprovalBook.EarlierWriteAsync"/>).</summary>
public enum EarlierWrite { None, Landed, Unsettled }

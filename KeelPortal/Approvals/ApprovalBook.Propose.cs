using System.Text.Json;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

public sealed partial class ApprovalBook
{
    /// <summary>
    /// Records a proposal as <see cref="ProposalRules"/> plans it: a new pending approval (or an approved one when no
    /// votes are needed), passing the open ones it supersedes in the same transaction; votes reset when the same
    /// version's digest changed; otherwise an answer saying why nothing was written.
    /// </summary>
    public async Task<ProposalResult> ProposeAsync(Proposal proposal, Func<string, bool> isBetterThan, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var open = await db.Set<Approval>().AsNoTracking().Include(a => a.Votes)
            .Where(a => a.WorkloadId == proposal.WorkloadId && (a.State == ApprovalState.Pending || a.State == ApprovalState.Approved || a.State == ApprovalState.Applying))
            .ToListAsync(ct);
        var (ended, changed) = await EndedBeforeAsync(db, proposal, ct);
        switch (ProposalRules.Plan(proposal, [.. open.Select(a => ApprovalFacts.Of(a))], ended, changed, isBetterThan))
        {
            case ProposalPlan.Answer answer:
                return answer.Result;
            case ProposalPlan.ResetVotes reset:
                var (decision, _) = await RunAsync(reset.ApprovalId, new ApprovalCommand.NewDigest(reset.Digest), ct);
                return new(decision.Accepted ? ProposalOutcome.VotesReset : ProposalOutcome.Unchanged, reset.ApprovalId, decision.Reason);
            case ProposalPlan.Create create:
                return await CreateAsync(db, proposal, create, ct);
            default:
                throw new InvalidOperationException("a proposal plan without a write");
        }
    }

    /// <summary>How the version ended for the workload before (one query), and whether the workload changed since it last failed.</summary>
    private static async Task<(List<EndedBefore> Ended, bool WorkloadChanged)> EndedBeforeAsync(PortalDbContext db, Proposal proposal, CancellationToken ct)
    {
        var ended = await db.Set<Approval>().Where(a => a.WorkloadId == proposal.WorkloadId && a.NewVersion == proposal.NewVersion
                && (a.State == ApprovalState.Rejected || a.State == ApprovalState.Expired || a.State == ApprovalState.Failed))
            .OrderByDescending(a => a.Id).Select(a => new { a.Id, a.Identifier, a.State, a.Digest, a.Reason, a.UpdatedAtUtc }).ToListAsync(ct);
        var failedAt = ended.FirstOrDefault() is { State: ApprovalState.Failed } failed ? failed.UpdatedAtUtc : (DateTime?)null;
        var changed = failedAt is not null && await db.Set<WorkloadRecord>().AnyAsync(w => w.Id == proposal.WorkloadId && w.UpdatedAtUtc > failedAt, ct);
        return ([.. ended.Select(a => new EndedBefore(a.Id, a.Identifier, a.State, a.Digest, a.Reason))], changed);
    }

    private async Task<ProposalResult> CreateAsync(PortalDbContext db, Proposal proposal, ProposalPlan.Create create, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        foreach (var id in create.Supersedes)
        {
            // Decided again with the row locked: one claimed or voted on meanwhile is left as it is.
            await DecideInAsync(db, id, new ApprovalCommand.SupersedeBy(proposal.NewVersion), now, ct);
        }
        // Saved first: the one-pending-per-workload index must be free before the new approval goes in.
        await db.SaveChangesAsync(ct);
        var approval = NewApproval(proposal, create.State, now);
        db.Add(approval);
        try
        {
            await db.SaveChangesAsync(ct);
            // The events name the new id, so they are written after it (still inside the transaction); its audit entries
            // commit with it, so they precede whatever the apply (started at once) records.
            outbox.Stage(db, new ApprovalChanged(approval.Id, approval.WorkloadId, approval.State));
            var approved = approval.State == ApprovalState.Approved;
            audit.Stage(db, AuditTrail.System, approved ? AuditActions.UpdateApproved : AuditActions.ApprovalCreated, approval.Identifier,
                $"{approval.CurrentVersion} -> {approval.NewVersion}; {(approved ? "no approval required" : $"0/{approval.VotesRequired} votes, deadline {approval.DeadlineUtc:u}")}; {proposal.Reason}");
            outbox.Stage(db, approved ? new ApprovalApproved(approval.Id) : new ApprovalProposed(approval.Id));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            // Another proposal for this workload won the race for the one pending slot.
            LogLostRace(proposal.WorkloadId, "the pending approval");
            return new(ProposalOutcome.Unchanged, null, $"another proposal for {proposal.WorkloadId} was recorded at the same time");
        }
        metrics.Proposals.Add(1, new KeyValuePair<string, object?>("votes", approval.VotesRequired > 0 ? "required" : "none"));
        global::System.Diagnostics.Activity.Current?.SetTag("keelportal.approval.id", approval.Id);
        return approval.State == ApprovalState.Approved
            ? new(ProposalOutcome.AutoApproved, approval.Id, "no approval required")
            : new(ProposalOutcome.Created, approval.Id, $"waiting for {approval.VotesRequired} vote(s)");
    }

    private static Approval NewApproval(Proposal proposal, ApprovalState state, DateTime now) => new()
    {
        Identifier = IdentifierOf(proposal.WorkloadId, proposal.NewVersion),
        WorkloadId = proposal.WorkloadId,
        Repository = proposal.Repository,
        CurrentVersion = proposal.CurrentVersion,
        NewVersion = proposal.NewVersion,
        Digest = proposal.Digest,
        ImagesJson = JsonSerializer.Serialize(proposal.Images, WorkloadStore.Json),
        // A rollback's message is why it was asked for; an update's is Keel's sentence.
        Message = proposal.RollbackBy is null ? MessageOf(proposal.WorkloadId, proposal.CurrentVersion, proposal.NewVersion) : proposal.Reason,
        VotesRequired = proposal.VotesRequired,
        DeadlineUtc = now + proposal.Deadline,
        State = state,
        Reason = proposal.Reason,
        CreatedAtUtc = now,
        UpdatedAtUtc = now,
        TraceParent = global::System.Diagnostics.Activity.Current?.Id,
        RollbackBy = proposal.RollbackBy,
    };
}

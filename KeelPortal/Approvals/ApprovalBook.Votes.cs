using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

public sealed partial class ApprovalBook
{
    /// <summary>
    /// One vote by <paramref name="voter"/> — the authenticated caller, never a name from a request body. A reject
    /// ends the approval; the vote that reaches the required count approves it (once, whoever races). The vote, its
    /// audit entries, the state it moves and the events commit in one transaction, which first touches the approval's
    /// row: concurrent votes on one approval take turns there, so each counts the votes committed before it.
    /// </summary>
    public async Task<VoteResult> VoteAsync(long approvalId, string voter, bool approve, string? comment = null, string? via = null, CancellationToken ct = default)
    {
        if (Audit.AuditReason.CommentProblem(comment) is { } problem)
        {
            return new(VoteOutcome.Invalid, problem);
        }
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        // Keel's updatedAt moves with every vote; the update is also the row lock the vote holds until it commits.
        var open = await db.Set<Approval>().Where(a => a.Id == approvalId && a.State == ApprovalState.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.UpdatedAtUtc, now), ct);
        var approval = await db.Set<Approval>().AsNoTracking().Include(a => a.Votes).SingleOrDefaultAsync(a => a.Id == approvalId, ct);
        if (approval is null)
        {
            return new(VoteOutcome.NotFound, $"approval {approvalId} does not exist");
        }
        if (open == 0)
        {
            return new(VoteOutcome.NotPending, $"{approval.Identifier} is {approval.State.ToString().ToLowerInvariant()}; votes are closed", approval);
        }
        if (approval.Votes.Any(v => v.Voter == voter))
        {
            return new(VoteOutcome.AlreadyVoted, $"{voter} has already voted on {approval.Identifier}", approval);
        }
        db.Add(new ApprovalVote { ApprovalId = approval.Id, Voter = voter, Approve = approve, Comment = comment, CastAtUtc = now });
        var details = string.IsNullOrWhiteSpace(comment) ? null : comment.Trim();
        var channel = via is null ? "" : $" via {via}";
        VoteResult result;
        (ApprovalState To, string Reason)? moved = null;
        if (!approve)
        {
            var reason = $"rejected by {voter}{(details is null ? "" : ": " + details)}";
            StageMove(db, approval, ApprovalState.Rejected, reason, now);
            audit.Stage(db, voter, AuditActions.ApprovalRejected, approval.Identifier, via is null ? details : $"{details ?? "rejected"}{channel}");
            (moved, result) = ((ApprovalState.Rejected, reason), new(VoteOutcome.Rejected, reason, approval));
        }
        else
        {
            var approvals = approval.Votes.Count(v => v.Approve) + 1;
            audit.Stage(db, voter, AuditActions.ApprovalVoted, approval.Identifier, $"{approvals}/{approval.VotesRequired}{(details is null ? "" : "; " + details)}{channel}");
            result = new(VoteOutcome.Counted, $"{approvals}/{approval.VotesRequired} votes", approval);
            if (approvals >= approval.VotesRequired)
            {
                var reason = $"approved by {approvals} vote(s)";
                StageMove(db, approval, ApprovalState.Approved, reason, now);
                audit.Stage(db, System, AuditActions.ApprovalApproved, approval.Identifier, reason);
                (moved, result) = ((ApprovalState.Approved, reason), new(VoteOutcome.Approved, $"{approval.Identifier} approved", approval));
            }
        }
        if (moved is null)
        {
            // Only the votes changed: pages refresh. A vote that moves the state says so in its own event.
            outbox.Stage(db, new ApprovalChanged(approval.Id, approval.WorkloadId, ApprovalState.Pending, StateMoved: false));
        }
        try
        {
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            LogLostRace(approval.Identifier, "a vote by the same person");
            return new(VoteOutcome.AlreadyVoted, $"{voter} has already voted on {approval.Identifier}", approval);
        }
        Telemetry.PortalTelemetry.Votes.Add(1, new KeyValuePair<string, object?>("kind", approve ? "approve" : "reject"));
        if (moved is { } m)
        {
            LogChange(approval.Id, ApprovalState.Pending, m.To, m.Reason);
        }
        return result;
    }

    /// <summary>Marks pending approvals past their deadline expired (never deletes them); returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var due = await db.Set<Approval>().Where(a => a.State == ApprovalState.Pending && a.DeadlineUtc <= now)
            .Select(a => new { a.Id, a.Identifier, a.WorkloadId, a.DeadlineUtc }).ToListAsync(ct);
        var expired = 0;
        foreach (var approval in due)
        {
            if (await MoveAsync(approval.Id, ApprovalState.Pending, ApprovalState.Expired, $"deadline {approval.DeadlineUtc:u} passed", ct))
            {
                expired++;
                await audit.RecordAsync(System, AuditActions.ApprovalExpired, approval.Identifier, $"deadline {approval.DeadlineUtc:u} passed", ct);
            }
        }
        return expired;
    }

    /// <summary>Keel's <c>PUT /v1/approvals</c>: changes the votes a workload's pending approvals need; enough votes approve them.</summary>
    public async Task<int> SetVotesRequiredAsync(string workloadId, int votesRequired, string actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var pending = await db.Set<Approval>().Include(a => a.Votes)
            .Where(a => a.WorkloadId == workloadId && a.State == ApprovalState.Pending).ToListAsync(ct);
        foreach (var approval in pending)
        {
            var before = approval.VotesRequired;
            var now = time.GetUtcNow().UtcDateTime;
            approval.VotesRequiredBefore ??= before;
            approval.VotesRequired = votesRequired;
            approval.VotesRequiredChangedBy = actor;
            approval.VotesRequiredChangedAtUtc = now;
            approval.UpdatedAtUtc = now;
            outbox.Stage(db, new ApprovalChanged(approval.Id, approval.WorkloadId, ApprovalState.Pending, StateMoved: false));
            await db.SaveChangesAsync(ct);
            await audit.RecordAsync(actor, AuditActions.ApprovalVotesRequired, approval.Identifier, $"{before} -> {votesRequired}", ct);
            var approvals = approval.Votes.Count(v => v.Approve);
            if (approvals >= votesRequired)
            {
                await CompleteVotingAsync(approval, $"approved by {approvals} vote(s) after the required votes became {votesRequired}", ct);
            }
        }
        return pending.Count;
    }

    /// <summary>
    /// Closes the workload's pending approval (of <paramref name="version"/> only, when given) as superseded, for a hold
    /// or a skip; returns how many were closed.
    /// </summary>
    public async Task<int> SupersedePendingAsync(string workloadId, string? version, string reason, CancellationToken ct = default)
    {
        List<(long Id, string Identifier)> pending;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            pending = (await db.Set<Approval>().Where(a => a.WorkloadId == workloadId && a.State == ApprovalState.Pending && (version == null || a.NewVersion == version))
                .Select(a => new { a.Id, a.Identifier }).ToListAsync(ct)).Select(a => (a.Id, a.Identifier)).ToList();
        }
        var closed = 0;
        foreach (var (id, identifier) in pending)
        {
            if (await MoveAsync(id, ApprovalState.Pending, ApprovalState.Superseded, reason, ct))
            {
                closed++;
                await audit.RecordAsync(System, AuditActions.ApprovalSuperseded, identifier, reason, ct);
            }
        }
        return closed;
    }

    /// <summary>Keel's archive and delete: hide from Keel's list; a pending one is closed as rejected.</summary>
    public async Task<bool> ArchiveAsync(long approvalId, string actor, bool delete, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var approval = await db.Set<Approval>().SingleOrDefaultAsync(a => a.Id == approvalId, ct);
        if (approval is null)
        {
            return false;
        }
        var moved = approval.State == ApprovalState.Pending
            && await MoveAsync(approvalId, ApprovalState.Pending, ApprovalState.Rejected, $"{(delete ? "deleted" : "archived")} by {actor}", ct);
        await db.Set<Approval>().Where(a => a.Id == approvalId).ExecuteUpdateAsync(s => s.SetProperty(a => a.Archived, true), ct);
        await audit.RecordAsync(actor, delete ? AuditActions.ApprovalDeleted : AuditActions.ApprovalArchived, approval.Identifier, null, ct);
        if (!moved)
        {
            await outbox.PublishAsync(new ApprovalChanged(approvalId, approval.WorkloadId, approval.State, StateMoved: false), ct);
        }
        return true;
    }

    private async Task<bool> CompleteVotingAsync(Approval approval, string reason, CancellationToken ct)
    {
        return await MoveAsync(approval.Id, ApprovalState.Pending, ApprovalState.Approved, reason, ct, auditAction: AuditActions.ApprovalApproved);
    }

    /// <summary>
    /// The one way states change: an UPDATE … WHERE State = from, so only one caller wins; the winner's events
    /// (<see cref="ApprovalChanged"/>, and <see cref="ApprovalApproved"/> when voting completes) and, when
    /// <paramref name="auditAction"/> is given, its audit entry (by the system, the reason as details) commit with it.
    /// </summary>
    internal async Task<bool> MoveAsync(
        long approvalId, ApprovalState from, ApprovalState to, string reason, CancellationToken ct, AuditAction? auditAction = null, string? claimToken = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (await SetStateAsync(db, approvalId, from, to, reason, now, ct, claimToken) == 0)
        {
            return false;
        }
        var moved = await db.Set<Approval>().Where(a => a.Id == approvalId).Select(a => new { a.WorkloadId, a.Identifier }).SingleAsync(ct);
        StageMoved(db, approvalId, moved.WorkloadId, from, to);
        if (auditAction is not null)
        {
            audit.Stage(db, System, auditAction, moved.Identifier, reason);
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        LogChange(approvalId, from, to, reason);
        return true;
    }

    /// <summary>
    /// Moves a pending approval whose row the caller's transaction already holds (so it is still pending), with its
    /// events: the change is saved with the caller's other rows, in one round trip; an approval's apply starts here once
    /// the transaction has committed.
    /// </summary>
    private void StageMove(DbContext db, Approval approval, ApprovalState to, string reason, DateTime now)
    {
        db.Attach(approval);
        approval.State = to;
        approval.Reason = reason;
        approval.UpdatedAtUtc = now;
        StageMoved(db, approval.Id, approval.WorkloadId, ApprovalState.Pending, to);
    }

    /// <summary>The conditional state change itself: how many rows moved (0 when the approval is no longer in <paramref name="from"/>).</summary>
    /// <summary>The conditional state move; with <paramref name="claimToken"/> only while that apply claim holds (the fence).</summary>
    private static Task<int> SetStateAsync(
        DbContext db, long approvalId, ApprovalState from, ApprovalState to, string reason, DateTime now, CancellationToken ct, string? claimToken = null) =>
        db.Set<Approval>().Where(a => a.Id == approvalId && a.State == from && (claimToken == null || a.ClaimToken == claimToken))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, to).SetProperty(a => a.Reason, reason).SetProperty(a => a.UpdatedAtUtc, now), ct);

    private void StageMoved(DbContext db, long approvalId, string workloadId, ApprovalState from, ApprovalState to)
    {
        outbox.Stage(db, new ApprovalChanged(approvalId, workloadId, to));
        if (from == ApprovalState.Pending && to == ApprovalState.Approved)
        {
            StageApply(db, approvalId);
        }
    }

    /// <summary>
    /// The approved approval's apply: work committed with the approval, started on this replica right after the commit
    /// (and by any replica's relay if this one stops first).
    /// </summary>
    private void StageApply(DbContext db, long approvalId) => outbox.Stage(db, new ApprovalApproved(approvalId));
}

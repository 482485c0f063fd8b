using System.Text.Json;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

/// <summary>An update the pipeline wants to make: what, from and to which version, and how many votes it needs.</summary>
public sealed record Proposal(
    string WorkloadId, string Repository, string CurrentVersion, string NewVersion, string? Digest,
    IReadOnlyList<ImageUpdate> Images, int VotesRequired, TimeSpan Deadline, string Reason, string? RollbackBy = null);

public enum ProposalOutcome { Created, AutoApproved, Unchanged, VotesReset, Declined, KeptNewerPending, FailedBefore }

public sealed record ProposalResult(ProposalOutcome Outcome, long? ApprovalId, string Reason);

public enum VoteOutcome { Counted, Approved, Rejected, NotFound, NotPending, AlreadyVoted, NotAllowed, Invalid }

public sealed record VoteResult(VoteOutcome Outcome, string Reason, Approval? Approval = null);

/// <summary>
/// Written whenever an approval changes state, receives a vote or is archived; <paramref name="StateMoved"/> is false
/// when its state stayed what it was (a vote, an archive), so nothing acts on it as news.
/// </summary>
public sealed record ApprovalChanged(long ApprovalId, string WorkloadId, ApprovalState State, bool StateMoved = true);

/// <summary>Written when a new approval starts waiting for votes (not when a vote arrives).</summary>
public sealed record ApprovalProposed(long ApprovalId);

/// <summary>Written when an approval has all its votes (or needed none): the update pipeline applies it.</summary>
public sealed record ApprovalApproved(long ApprovalId);

/// <summary>
/// The approvals and their state machine: Pending → Approved → Applying → Applied | Failed, or Rejected | Expired |
/// Superseded. Every transition is a conditional update in the database, so concurrent callers (two portal
/// instances, a double click, a retried job) move an approval once.
/// </summary>
public sealed partial class ApprovalBook(
    IDbContextFactory<PortalDbContext> contexts, AuditTrail audit, Outbox outbox, TimeProvider time, ILogger<ApprovalBook> logger)
{
    public const string System = Audit.AuditTrail.System;

    public static string IdentifierOf(string workloadId, string version) => $"{workloadId}:{version}";

    public static string MessageOf(string workloadId, string from, string to)
    {
        var resource = WorkloadId.TryParse(workloadId, out _, out var ns, out var name) ? $"{ns}/{name}" : workloadId;
        return $"New image is available for resource {resource} ({from} -> {to}).";
    }

    /// <summary>
    /// Records a proposal: a new pending approval (or an approved one when no votes are needed); nothing when the same
    /// version is already in flight; votes reset when that version's digest changed; refused when that version was
    /// rejected or expired; the pending one superseded when <paramref name="isBetterThan"/> says the new version wins.
    /// </summary>
    public async Task<ProposalResult> ProposeAsync(Proposal proposal, Func<string, bool> isBetterThan, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var set = db.Set<Approval>();
        var open = await set.Include(a => a.Votes)
            .Where(a => a.WorkloadId == proposal.WorkloadId && (a.State == ApprovalState.Pending || a.State == ApprovalState.Approved || a.State == ApprovalState.Applying))
            .ToListAsync(ct);
        if (open.FirstOrDefault(a => a.NewVersion == proposal.NewVersion) is { } same)
        {
            if (same.State == ApprovalState.Pending && proposal.Digest is not null && same.Digest is not null && same.Digest != proposal.Digest)
            {
                return await ResetVotesAsync(db, same, proposal.Digest, ct);
            }
            return new(ProposalOutcome.Unchanged, same.Id, $"{same.Identifier} is already {same.State.ToString().ToLowerInvariant()}");
        }
        // A rollback names a version that ran before; a version declined or failed since does not stop a person from going back to it.
        if (proposal.RollbackBy is null && await EndedBeforeAsync(db, proposal, ct) is { } ended)
        {
            return ended;
        }
        // An update approved or being applied that the policy prefers to this one stays; this one is not proposed beside it
        // (applied after it, it would move the workload back).
        if (proposal.RollbackBy is null
            && open.FirstOrDefault(a => a.State != ApprovalState.Pending && a.RollbackBy is null && !isBetterThan(a.NewVersion)) is { } ahead)
        {
            return new(ProposalOutcome.KeptNewerPending, ahead.Id,
                $"{ahead.Identifier} is {ahead.State.ToString().ToLowerInvariant()} and is preferred to {proposal.NewVersion}");
        }
        var now = time.GetUtcNow().UtcDateTime;
        var pending = open.FirstOrDefault(a => a.State == ApprovalState.Pending);
        if (pending is not null)
        {
            if (pending.RollbackBy is not null && proposal.RollbackBy is null)
            {
                return new(ProposalOutcome.KeptNewerPending, pending.Id, $"a rollback to {pending.NewVersion} is pending; no update is proposed over it");
            }
            if (proposal.RollbackBy is null && !isBetterThan(pending.NewVersion))
            {
                return new(ProposalOutcome.KeptNewerPending, pending.Id, $"{pending.Identifier} is pending and is preferred to {proposal.NewVersion}");
            }
            pending.State = ApprovalState.Superseded;
            pending.Reason = $"superseded by {proposal.NewVersion}";
            pending.UpdatedAtUtc = now;
            outbox.Stage(db, new ApprovalChanged(pending.Id, pending.WorkloadId, ApprovalState.Superseded));
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (pending is not null)
        {
            // Saved first: the one-pending-per-workload index must be free before the new approval goes in.
            await db.SaveChangesAsync(ct);
        }
        var passed = await SupersedeApprovedAsync(db, proposal, open, now, ct);
        var approval = new Approval
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
            State = proposal.VotesRequired <= 0 ? ApprovalState.Approved : ApprovalState.Pending,
            Reason = proposal.Reason,
            CreatedAtUtc = now,
            UpdatedAtUtc = now,
            TraceParent = global::System.Diagnostics.Activity.Current?.Id,
            RollbackBy = proposal.RollbackBy,
        };
        set.Add(approval);
        try
        {
            await db.SaveChangesAsync(ct);
            // The events name the new id, so they are written after it (still inside the transaction).
            outbox.Stage(db, new ApprovalChanged(approval.Id, approval.WorkloadId, approval.State));
            // Its audit entries commit with it, so they precede whatever the apply (started at once) records.
            foreach (var older in pending is null ? passed : passed.Prepend(pending))
            {
                audit.Stage(db, System, AuditActions.ApprovalSuperseded, older.Identifier, $"superseded by {proposal.NewVersion}");
            }
            audit.Stage(db, System, approval.State == ApprovalState.Approved ? AuditActions.UpdateApproved : AuditActions.ApprovalCreated, approval.Identifier,
                $"{approval.CurrentVersion} -> {approval.NewVersion}; {(approval.VotesRequired > 0 ? $"0/{approval.VotesRequired} votes, deadline {approval.DeadlineUtc:u}" : "no approval required")}; {proposal.Reason}");
            if (approval.State == ApprovalState.Approved)
            {
                StageApply(db, approval.Id);
            }
            else
            {
                outbox.Stage(db, new ApprovalProposed(approval.Id));
            }
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            // Another proposal for this workload won the race for the one pending slot.
            LogLostRace(proposal.WorkloadId, "the pending approval");
            return new(ProposalOutcome.Unchanged, null, $"another proposal for {proposal.WorkloadId} was recorded at the same time");
        }
        Telemetry.PortalTelemetry.Proposals.Add(1, new KeyValuePair<string, object?>("votes", approval.VotesRequired > 0 ? "required" : "none"));
        global::System.Diagnostics.Activity.Current?.SetTag("keelportal.approval.id", approval.Id);
        if (approval.State == ApprovalState.Approved)
        {
            return new(ProposalOutcome.AutoApproved, approval.Id, "no approval required");
        }
        return new(ProposalOutcome.Created, approval.Id, $"waiting for {approval.VotesRequired} vote(s)");
    }

    /// <summary>
    /// How this version ended for the workload before, read in one query: rejected or expired, it is not proposed again;
    /// failed, it is not proposed again at every poll (each would fail the same way) but waits for a person's retry, a new
    /// digest of the tag, or a change to the workload (its settings or what it runs) since the failure. Null: neither.
    /// </summary>
    private static async Task<ProposalResult?> EndedBeforeAsync(PortalDbContext db, Proposal proposal, CancellationToken ct)
    {
        var ended = await db.Set<Approval>().Where(a => a.WorkloadId == proposal.WorkloadId && a.NewVersion == proposal.NewVersion
                && (a.State == ApprovalState.Rejected || a.State == ApprovalState.Expired || a.State == ApprovalState.Failed))
            .OrderByDescending(a => a.Id).Select(a => new { a.Id, a.Identifier, a.State, a.Digest, a.Reason, a.UpdatedAtUtc }).ToListAsync(ct);
        if (ended.FirstOrDefault(a => a.State != ApprovalState.Failed) is { } declined)
        {
            return new(ProposalOutcome.Declined, declined.Id,
                $"{IdentifierOf(proposal.WorkloadId, proposal.NewVersion)} was {declined.State.ToString().ToLowerInvariant()} before; it is not proposed again");
        }
        if (ended.FirstOrDefault() is not { } failed || (proposal.Digest is not null && failed.Digest is not null && proposal.Digest != failed.Digest)
            || await db.Set<WorkloadRecord>().AnyAsync(w => w.Id == proposal.WorkloadId && w.UpdatedAtUtc > failed.UpdatedAtUtc, ct))
        {
            return null;
        }
        return new(ProposalOutcome.FailedBefore, failed.Id,
            $"{failed.Identifier} failed to apply ({failed.Reason}); it waits for a retry, a new digest or a change to the workload");
    }

    /// <summary>
    /// An update that needs no votes passes the older ones approved but not yet claimed for applying (the policy
    /// preferred it to each): they are superseded in its transaction, so the workload is written once, to the newest.
    /// </summary>
    private async Task<List<Approval>> SupersedeApprovedAsync(PortalDbContext db, Proposal proposal, List<Approval> open, DateTime now, CancellationToken ct)
    {
        var passed = new List<Approval>();
        if (proposal.VotesRequired > 0 || proposal.RollbackBy is not null)
        {
            return passed;
        }
        var reason = $"superseded by {proposal.NewVersion} before it was applied";
        foreach (var older in open.Where(a => a.State == ApprovalState.Approved && a.RollbackBy is null))
        {
            var moved = await db.Set<Approval>().Where(a => a.Id == older.Id && a.State == ApprovalState.Approved)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, ApprovalState.Superseded).SetProperty(a => a.Reason, reason)
                    .SetProperty(a => a.UpdatedAtUtc, now), ct);
            if (moved == 1)
            {
                outbox.Stage(db, new ApprovalChanged(older.Id, older.WorkloadId, ApprovalState.Superseded));
                passed.Add(older);
            }
        }
        return passed;
    }

    private async Task<ProposalResult> ResetVotesAsync(PortalDbContext db, Approval same, string digest, CancellationToken ct)
    {
        var had = same.Votes.Count;
        db.RemoveRange(same.Votes);
        var previous = same.Digest;
        same.Digest = digest;
        same.UpdatedAtUtc = time.GetUtcNow().UtcDateTime;
        same.Reason = $"the tag was pushed again with digest {digest}; votes reset";
        outbox.Stage(db, new ApprovalChanged(same.Id, same.WorkloadId, same.State, StateMoved: false));
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(System, AuditActions.ApprovalVotesReset, same.Identifier, $"digest {previous} -> {digest}; {had} vote(s) cleared", ct);
        return new(ProposalOutcome.VotesReset, same.Id, same.Reason);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Subject}: another caller wrote {What} at the same moment; theirs stands")]
    private partial void LogLostRace(string subject, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId}: {From} -> {To} ({Reason})")]
    private partial void LogChange(long approvalId, ApprovalState from, ApprovalState to, string reason);
}

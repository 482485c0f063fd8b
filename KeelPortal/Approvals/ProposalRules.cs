namespace KeelPortal.Approvals;

/// <summary>An update the pipeline wants to make: what, from and to which version, and how many votes it needs.</summary>
public sealed record Proposal(
    string WorkloadId, string Repository, string CurrentVersion, string NewVersion, string? Digest,
    IReadOnlyList<Workloads.ImageUpdate> Images, int VotesRequired, TimeSpan Deadline, string Reason, string? RollbackBy = null);

public enum ProposalOutcome { Created, AutoApproved, Unchanged, VotesReset, Declined, KeptNewerPending, FailedBefore }

public sealed record ProposalResult(ProposalOutcome Outcome, long? ApprovalId, string Reason);

/// <summary>How the proposed version ended for the workload before (rejected, expired or failed), newest first.</summary>
public sealed record EndedBefore(long Id, string Identifier, ApprovalState State, string? Digest, string? Reason);

/// <summary>What a proposal leads to.</summary>
public abstract record ProposalPlan
{
    private ProposalPlan() { }

    /// <summary>Nothing is written; this is the answer.</summary>
    public sealed record Answer(ProposalResult Result) : ProposalPlan;

    /// <summary>The same version waits for votes and its tag has a new digest: its votes are reset.</summary>
    public sealed record ResetVotes(long ApprovalId, string Digest) : ProposalPlan;

    /// <summary>A new approval, in <paramref name="State"/>, passing the open ones in <paramref name="Supersedes"/>.</summary>
    public sealed record Create(ApprovalState State, IReadOnlyList<long> Supersedes) : ProposalPlan;
}

/// <summary>
/// Whether a proposal becomes an approval, pure: from the workload's open approvals (pending, approved, applying),
/// how the version ended before, and the policy's preference (<c>isBetterThan(v)</c>: the proposed version beats v).
/// </summary>
public static class ProposalRules
{
    public static ProposalPlan Plan(
        Proposal proposal, IReadOnlyList<ApprovalFacts> open, IReadOnlyList<EndedBefore> ended, bool workloadChangedSinceFailure,
        Func<string, bool> isBetterThan)
    {
        ArgumentNullException.ThrowIfNull(proposal);
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(isBetterThan);
        if (open.FirstOrDefault(a => a.NewVersion == proposal.NewVersion) is { } same)
        {
            return same.State == ApprovalState.Pending && proposal.Digest is not null && same.Digest is not null && same.Digest != proposal.Digest
                ? new ProposalPlan.ResetVotes(same.Id, proposal.Digest)
                : Answer(ProposalOutcome.Unchanged, same.Id, $"{same.Identifier} is already {ApprovalMachine.Name(same.State)}");
        }
        var update = proposal.RollbackBy is null;
        // A rollback a person asked for goes first, until it is applied (then it holds the workload): an update applied
        // while it is in flight would be undone by it, and a rollback taken over after its write would write again.
        if (update && open.FirstOrDefault(a => a.RollbackBy is not null) is { } rollback)
        {
            return Answer(ProposalOutcome.KeptNewerPending, rollback.Id,
                $"a rollback to {rollback.NewVersion} is {ApprovalMachine.Name(rollback.State)}; no update is proposed over it");
        }
        // A rollback names a version that ran before; a version declined or failed since does not stop a person from going back to it.
        if (update && Declined(proposal, ended, workloadChangedSinceFailure) is { } declined)
        {
            return declined;
        }
        // An update approved or being applied that the policy prefers to this one stays (applied after it, this one would move the workload back).
        if (update && open.FirstOrDefault(a => a.State != ApprovalState.Pending && a.RollbackBy is null && !isBetterThan(a.NewVersion)) is { } ahead)
        {
            return Answer(ProposalOutcome.KeptNewerPending, ahead.Id,
                $"{ahead.Identifier} is {ApprovalMachine.Name(ahead.State)} and is preferred to {proposal.NewVersion}");
        }
        var pending = open.FirstOrDefault(a => a.State == ApprovalState.Pending);
        if (pending is not null && update && !isBetterThan(pending.NewVersion))
        {
            return Answer(ProposalOutcome.KeptNewerPending, pending.Id, $"{pending.Identifier} is pending and is preferred to {proposal.NewVersion}");
        }
        // An update that needs no votes also passes the older ones approved but not yet claimed: the workload is written once, to the newest.
        var passed = update && proposal.VotesRequired <= 0
            ? open.Where(a => a.State == ApprovalState.Approved && a.RollbackBy is null).Select(a => a.Id)
            : [];
        return new ProposalPlan.Create(proposal.VotesRequired <= 0 ? ApprovalState.Approved : ApprovalState.Pending,
            [.. (pending is null ? [] : new[] { pending.Id }).Concat(passed)]);
    }

    /// <summary>
    /// Rejected or expired before, it is not proposed again; failed, it is not proposed at every poll (each would fail the
    /// same way) but waits for a person's retry, a new digest of the tag, or a change to the workload since the failure.
    /// </summary>
    private static ProposalPlan.Answer? Declined(Proposal proposal, IReadOnlyList<EndedBefore> ended, bool workloadChangedSinceFailure)
    {
        if (ended.FirstOrDefault(a => a.State != ApprovalState.Failed) is { } declined)
        {
            return Answer(ProposalOutcome.Declined, declined.Id,
                $"{ApprovalBook.IdentifierOf(proposal.WorkloadId, proposal.NewVersion)} was {ApprovalMachine.Name(declined.State)} before; it is not proposed again");
        }
        if (ended.Count == 0 || ended[0] is not { } failed || workloadChangedSinceFailure
            || (proposal.Digest is not null && failed.Digest is not null && proposal.Digest != failed.Digest))
        {
            return null;
        }
        return Answer(ProposalOutcome.FailedBefore, failed.Id,
            $"{failed.Identifier} failed to apply ({failed.Reason}); it waits for a retry, a new digest or a change to the workload");
    }

    private static ProposalPlan.Answer Answer(ProposalOutcome outcome, long? id, string reason) => new(new(outcome, id, reason));
}

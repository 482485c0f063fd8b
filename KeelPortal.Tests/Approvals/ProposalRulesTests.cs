using KeelPortal.Approvals;

namespace KeelPortal.Tests.Approvals;

/// <summary>Whether a proposal becomes an approval, from the workload's open approvals and how the version ended before: the rules alone.</summary>
public sealed class ProposalRulesTests
{
    private const string Workload = "deployment/default/web";

    private static Proposal Update(string version, int votes = 1, string? digest = "sha256:new", string? rollbackBy = null) =>
        new(Workload, "registry/web", "1.2.3", version, digest, [], votes, TimeSpan.FromHours(1), "policy", rollbackBy);

    private static ApprovalFacts Open(long id, ApprovalState state, string version, string? digest = "sha256:old", string? rollbackBy = null) =>
        new(id, $"{Workload}:{version}", state, "1.2.3", version, digest, 1, [], DateTime.UnixEpoch, rollbackBy);

    /// <summary>SemVer-ish preference for the table: the proposed version beats v when it sorts after it.</summary>
    private static Func<string, bool> Beats(string proposed) => v => Version.Parse(proposed) > Version.Parse(v);

    private static ProposalPlan Plan(Proposal p, ApprovalFacts[] open, EndedBefore[]? ended = null, bool changed = false) =>
        ProposalRules.Plan(p, open, ended ?? [], changed, Beats(p.NewVersion));

    [Fact]
    public void A_first_proposal_waits_for_votes_or_is_approved_at_once_when_none_are_needed()
    {
        Creates(ApprovalState.Pending, Plan(Update("1.2.4"), []));
        Assert.Equal(ApprovalState.Approved, Assert.IsType<ProposalPlan.Create>(Plan(Update("1.2.4", votes: 0), [])).State);
    }

    [Fact]
    public void The_same_version_in_flight_is_unchanged_unless_its_tag_has_a_new_digest_while_pending()
    {
        Assert.Equal(new ProposalPlan.ResetVotes(1, "sha256:new"), Plan(Update("1.2.4"), [Open(1, ApprovalState.Pending, "1.2.4")]));
        var same = Assert.IsType<ProposalPlan.Answer>(Plan(Update("1.2.4", digest: "sha256:old"), [Open(1, ApprovalState.Pending, "1.2.4")]));
        Assert.Equal(ProposalOutcome.Unchanged, same.Result.Outcome);
        var applying = Assert.IsType<ProposalPlan.Answer>(Plan(Update("1.2.4"), [Open(1, ApprovalState.Applying, "1.2.4")]));
        Assert.Equal(ProposalOutcome.Unchanged, applying.Result.Outcome);
    }

    [Fact]
    public void A_better_version_supersedes_the_pending_one_and_a_worse_one_is_kept_out()
    {
        Creates(ApprovalState.Pending, Plan(Update("1.2.5"), [Open(1, ApprovalState.Pending, "1.2.4")]), 1);
        var worse = Assert.IsType<ProposalPlan.Answer>(Plan(Update("1.2.4"), [Open(1, ApprovalState.Pending, "1.2.5")]));
        Assert.Equal(ProposalOutcome.KeptNewerPending, worse.Result.Outcome);
        var behindApplying = Assert.IsType<ProposalPlan.Answer>(Plan(Update("1.2.4"), [Open(1, ApprovalState.Applying, "1.2.5")]));
        Assert.Equal(ProposalOutcome.KeptNewerPending, behindApplying.Result.Outcome);
    }

    [Fact]
    public void An_update_needing_no_votes_passes_older_approved_ones_but_never_a_rollback()
    {
        var plan = Plan(Update("1.2.6", votes: 0), [Open(1, ApprovalState.Approved, "1.2.4"), Open(2, ApprovalState.Approved, "1.2.5"), Open(3, ApprovalState.Applying, "1.2.3.9")]);
        Creates(ApprovalState.Approved, plan, 1, 2);

        // A rollback in flight (pending, approved or being applied) goes first: no update is proposed over it.
        foreach (var state in new[] { ApprovalState.Pending, ApprovalState.Approved, ApprovalState.Applying })
        {
            var overRollback = Assert.IsType<ProposalPlan.Answer>(Plan(Update("1.2.6"), [Open(1, state, "1.2.1", rollbackBy: "ann")]));
            Assert.Equal(ProposalOutcome.KeptNewerPending, overRollback.Result.Outcome);
            Assert.Contains("a rollback to 1.2.1 is", overRollback.Result.Reason, StringComparison.Ordinal);
        }
        Creates(ApprovalState.Approved, Plan(Update("1.2.1", votes: 0, rollbackBy: "ann"), [Open(1, ApprovalState.Approved, "1.2.4")]));
    }

    [Fact]
    public void A_version_declined_before_is_not_proposed_again_and_a_failed_one_waits_for_a_change()
    {
        EndedBefore rejected = new(4, $"{Workload}:1.2.4", ApprovalState.Rejected, "sha256:new", "rejected by ann");
        EndedBefore failed = new(5, $"{Workload}:1.2.4", ApprovalState.Failed, "sha256:new", "forbidden");

        Assert.Equal(ProposalOutcome.Declined, Assert.IsType<ProposalPlan.Answer>(Plan(Update("1.2.4"), [], [rejected])).Result.Outcome);
        Assert.Equal(ProposalOutcome.FailedBefore, Assert.IsType<ProposalPlan.Answer>(Plan(Update("1.2.4"), [], [failed])).Result.Outcome);
        Assert.IsType<ProposalPlan.Create>(Plan(Update("1.2.4"), [], [failed], changed: true));
        Assert.IsType<ProposalPlan.Create>(Plan(Update("1.2.4", digest: "sha256:newer"), [], [failed]));
        Assert.IsType<ProposalPlan.Create>(Plan(Update("1.2.4", rollbackBy: "ann"), [], [rejected]));
    }

    private static void Creates(ApprovalState state, ProposalPlan plan, params long[] supersedes)
    {
        var create = Assert.IsType<ProposalPlan.Create>(plan);
        Assert.Equal(state, create.State);
        Assert.Equal(supersedes, create.Supersedes);
    }
}

using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace KeelPortal.Tests.Approvals;

/// <summary>The approval state machine on the portal's real database, with a fake clock.</summary>
[Collection(AppHosts.Name)]
public sealed class ApprovalBookTests : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private PortalFactory portal = null!;

    private ApprovalBook Book => portal.Services.GetRequiredService<ApprovalBook>();

    public Task InitializeAsync()
    {
        portal = new PortalFactory().WithServices(s => s.AddSingleton<TimeProvider>(clock));
        _ = portal.Services;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await portal.DisposeAsync();

    private static Proposal Propose(string version, int votes = 2, string? digest = "sha256:aaaa", string workload = "deployment/shop/web") =>
        new(workload, "registry.example.com/shop/web", "1.2.3", version, digest,
            [new ImageUpdate("app", $"registry.example.com/shop/web:{version}")], votes, TimeSpan.FromHours(24), "eligible");

    private static bool Newer(string pending, string candidate) => string.CompareOrdinal(candidate, pending) > 0;

    private async Task<long> PendingAsync(string version = "1.2.4", int votes = 2, string? digest = "sha256:aaaa")
    {
        var result = await Book.ProposeAsync(Propose(version, votes, digest), p => Newer(p, version));
        Assert.Equal(ProposalOutcome.Created, result.Outcome);
        return result.ApprovalId!.Value;
    }

    [Fact]
    public async Task A_proposal_becomes_a_pending_approval_with_keels_identifier_message_and_deadline()
    {
        var id = await PendingAsync();

        var approval = await Book.GetAsync(id);

        Assert.Equal(("deployment/shop/web:1.2.4", ApprovalState.Pending, 2), (approval!.Identifier, approval.State, approval.VotesRequired));
        Assert.Equal("New image is available for resource shop/web (1.2.3 -> 1.2.4).", approval.Message);
        Assert.Equal(clock.GetUtcNow().UtcDateTime.AddHours(24), approval.DeadlineUtc);
        var again = await Book.ProposeAsync(Propose("1.2.4"), p => Newer(p, "1.2.4"));
        Assert.Equal(ProposalOutcome.Unchanged, again.Outcome);
    }

    [Fact]
    public async Task One_vote_per_person_and_the_second_distinct_vote_approves()
    {
        var id = await PendingAsync();

        var first = await Book.VoteAsync(id, "alice", approve: true);
        var twice = await Book.VoteAsync(id, "alice", approve: true);
        var second = await Book.VoteAsync(id, "bob", approve: true);
        var late = await Book.VoteAsync(id, "carol", approve: true);

        Assert.Equal((VoteOutcome.Counted, "1/2 votes"), (first.Outcome, first.Reason));
        Assert.Equal((VoteOutcome.AlreadyVoted, "alice has already voted on deployment/shop/web:1.2.4"), (twice.Outcome, twice.Reason));
        Assert.Equal(VoteOutcome.Approved, second.Outcome);
        Assert.Equal(VoteOutcome.NotPending, late.Outcome);
    }

    [Fact]
    public async Task Any_reject_ends_it_and_the_rejected_version_is_not_proposed_again_but_a_newer_one_is()
    {
        var id = await PendingAsync();
        await Book.VoteAsync(id, "alice", approve: true);

        var reject = await Book.VoteAsync(id, "bob", approve: false, comment: "breaks checkout");
        var again = await Book.ProposeAsync(Propose("1.2.4"), p => Newer(p, "1.2.4"));
        var newer = await Book.ProposeAsync(Propose("1.2.5"), p => Newer(p, "1.2.5"));

        Assert.Equal((VoteOutcome.Rejected, "rejected by bob: breaks checkout"), (reject.Outcome, reject.Reason));
        Assert.Equal(ApprovalState.Rejected, (await Book.GetAsync(id))!.State);
        Assert.Equal(ProposalOutcome.Declined, again.Outcome);
        Assert.Equal(ProposalOutcome.Created, newer.Outcome);
    }

    [Fact]
    public async Task Past_its_deadline_an_approval_is_marked_expired_never_deleted_and_not_proposed_again()
    {
        var id = await PendingAsync();
        clock.Advance(TimeSpan.FromHours(23));
        Assert.Equal(0, await Book.ExpireAsync());

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var expired = await Book.ExpireAsync();
        var vote = await Book.VoteAsync(id, "alice", approve: true);
        var again = await Book.ProposeAsync(Propose("1.2.4"), p => Newer(p, "1.2.4"));

        Assert.Equal(1, expired);
        Assert.Equal(ApprovalState.Expired, (await Book.GetAsync(id))!.State);
        Assert.Equal(VoteOutcome.NotPending, vote.Outcome);
        Assert.Equal(ProposalOutcome.Declined, again.Outcome);
    }

    [Fact]
    public async Task A_newer_version_supersedes_the_pending_one_and_votes_do_not_carry_over()
    {
        var old = await PendingAsync("1.2.4");
        await Book.VoteAsync(old, "alice", approve: true);

        var newer = await Book.ProposeAsync(Propose("1.2.5"), p => Newer(p, "1.2.5"));
        var older = await Book.ProposeAsync(Propose("1.2.4"), p => Newer(p, "1.2.4"));

        var superseded = await Book.GetAsync(old);
        var current = await Book.GetAsync(newer.ApprovalId!.Value);
        Assert.Equal((ApprovalState.Superseded, "superseded by 1.2.5"), (superseded!.State, superseded.Reason));
        Assert.Equal((ApprovalState.Pending, 0), (current!.State, current.Votes.Count));
        Assert.Equal(ProposalOutcome.KeptNewerPending, older.Outcome);
    }

    [Fact]
    public async Task A_tag_pushed_again_with_another_digest_resets_the_votes()
    {
        var id = await PendingAsync(digest: "sha256:aaaa");
        await Book.VoteAsync(id, "alice", approve: true);

        var repushed = await Book.ProposeAsync(Propose("1.2.4", digest: "sha256:bbbb"), p => Newer(p, "1.2.4"));

        var approval = await Book.GetAsync(id);
        Assert.Equal(ProposalOutcome.VotesReset, repushed.Outcome);
        Assert.Equal(("sha256:bbbb", 0, ApprovalState.Pending), (approval!.Digest, approval.Votes.Count, approval.State));
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery());
        Assert.Contains(trail.Entries, e => e.Action == "approval.votes-reset" && e.Details!.Contains("1 vote(s) cleared", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lowering_the_required_votes_completes_approvals_that_now_have_enough()
    {
        var withVote = await PendingAsync("1.2.4", votes: 2);
        await Book.VoteAsync(withVote, "alice", approve: true);
        var other = await Book.ProposeAsync(Propose("3.0.0", votes: 2, workload: "deployment/shop/api"), _ => true);

        var updatedWeb = await Book.SetVotesRequiredAsync("deployment/shop/web", 1, "admin");
        var updatedApi = await Book.SetVotesRequiredAsync("deployment/shop/api", 1, "admin");

        Assert.Equal((1, 1), (updatedWeb, updatedApi));
        Assert.NotEqual(ApprovalState.Pending, (await Book.GetAsync(withVote))!.State);
        Assert.Equal(ApprovalState.Pending, (await Book.GetAsync(other.ApprovalId!.Value))!.State);
    }

    [Fact]
    public async Task No_required_votes_means_approved_at_once()
    {
        var result = await Book.ProposeAsync(Propose("1.2.4", votes: 0), _ => true);

        Assert.Equal(ProposalOutcome.AutoApproved, result.Outcome);
    }

    [Fact]
    public async Task Concurrent_votes_each_count_the_ones_before_them_and_approve_once()
    {
        var id = await PendingAsync(votes: 3);
        string[] voters = ["alice", "bob", "carol", "dave", "erin"];

        var results = await Task.WhenAll(voters.Select(v => Book.VoteAsync(id, v, approve: true)));
        var again = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Book.VoteAsync(id, "alice", approve: false)));

        Assert.Equal(1, results.Count(r => r.Outcome == VoteOutcome.Approved));
        Assert.Equal(2, results.Count(r => r.Outcome == VoteOutcome.Counted));
        Assert.Equal(2, results.Count(r => r.Outcome == VoteOutcome.NotPending));
        Assert.All(again, r => Assert.Equal(VoteOutcome.NotPending, r.Outcome));
        var approval = (await Book.GetAsync(id))!;
        Assert.Equal(3, approval.Votes.Count);
        Assert.NotEqual(ApprovalState.Pending, approval.State);
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(Subject: approval.Identifier));
        Assert.Equal(["1/3", "2/3", "3/3"], trail.Entries.Where(e => e.Action == "approval.voted").Select(e => e.Details).Order());
        Assert.Single(trail.Entries, e => e.Action == "approval.approved");
    }

    [Fact]
    public async Task One_person_voting_several_times_at_once_is_counted_once()
    {
        var id = await PendingAsync(votes: 2);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Book.VoteAsync(id, "alice", approve: true)));

        Assert.Single(results, r => r.Outcome == VoteOutcome.Counted);
        Assert.All(results.Where(r => r.Outcome != VoteOutcome.Counted), r => Assert.Equal(VoteOutcome.AlreadyVoted, r.Outcome));
        Assert.Single((await Book.GetAsync(id))!.Votes);
    }

    [Fact]
    public async Task Only_one_caller_claims_an_approved_approval()
    {
        var id = await PendingAsync(votes: 1);
        await Book.VoteAsync(id, "alice", approve: true);
        // Eight live claims of apply work (the portal's own apply may race them too): whoever claims first, only one succeeds.
        await using (var db = await portal.Services.GetRequiredService<IDbContextFactory<KeelPortal.Data.PortalDbContext>>().CreateDbContextAsync())
        {
            db.AddRange(Enumerable.Range(0, 8).Select(i => new KeelPortal.Data.PortalEvent
            {
                Type = "ClaimTest", Payload = "{}", OccurredAtUtc = DateTime.UtcNow, ClaimToken = $"claim-{i}", ClaimedUntilUtc = new DateTime(2100, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            }));
            await db.SaveChangesAsync();
        }
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Book.TryClaimAsync(id, $"claim-{i}")));
        var approval = await Book.GetAsync(id);

        Assert.True(claims.Count(c => c is not null) <= 1);
        Assert.NotEqual(ApprovalState.Approved, approval!.State);
    }
}

/// <summary>The vote-counting cases of Keel's approval tests (the shared vectors' <c>approvals</c> group).</summary>
[Collection(AppHosts.Name)]
public sealed class KeelApprovalVectorTests
{
    public static TheoryData<Policies.VectorCase> Counting()
    {
        var data = new TheoryData<Policies.VectorCase>();
        foreach (var row in (IEnumerable<object[]>)Policies.PolicyVectors.Cases("approvals"))
        {
            var vector = (Policies.VectorCase)row[0];
            if (vector.Json["votes"] is not null)
            {
                data.Add(vector);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Counting))]
    public async Task Votes_are_counted_once_per_voter(Policies.VectorCase vector)
    {
        await using var portal = new PortalFactory();
        var book = portal.Services.GetRequiredService<ApprovalBook>();
        var required = vector.Json["votesRequired"]!.GetValue<int>();
        var created = await book.ProposeAsync(new Proposal("deployment/keel-demo/storefront", "docker.io/keel/storefront", "1.0.0", "1.1.0", null,
            [new ImageUpdate("app", "keel/storefront:1.1.0")], required, TimeSpan.FromHours(1), "vector"), _ => true);

        var results = new List<VoteResult>();
        foreach (var voter in vector.Json["votes"]!.AsArray())
        {
            results.Add(await book.VoteAsync(created.ApprovalId!.Value, voter!.GetValue<string>(), approve: true));
        }

        var approval = await book.GetAsync(created.ApprovalId!.Value);
        Assert.Equal(vector.Json["votesReceived"]!.GetValue<int>(), approval!.Votes.Count(v => v.Approve));
        Assert.Equal(vector.Json["status"]?.GetValue<string>() == "approved", results.Any(r => r.Outcome == VoteOutcome.Approved));
    }
}

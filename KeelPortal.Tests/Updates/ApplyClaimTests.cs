using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Updates;

/// <summary>
/// The apply's claim is renewed while it works and fenced: an apply slower than the lease is not taken over, and an
/// applier frozen past its lease, once another took over, neither writes to the cluster nor finishes the approval.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ApplyClaimTests
{
    private static readonly Dictionary<string, string> Minor = new() { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll" };
    private static readonly Dictionary<string, string> OneVote = new() { ["keel.sh/approvals"] = "1" };

    private static async Task<(PipelinePortal Pipeline, Approval Pending)> PendingAsync(string name, string lease = "00:00:03")
    {
        var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Work:Lease", lease));
        var repository = pipeline.Repository($"team/{name}");
        await pipeline.Pusher.PushAsync($"team/{name}", "1.0.0");
        await pipeline.Pusher.TagAsync($"team/{name}", "1.0.0", "1.1.0");
        pipeline.Deploy(name, $"{repository}:1.0.0", Minor, OneVote);
        await pipeline.TrackedAsync($"deployment/shop/{name}");
        await pipeline.PollNowAsync(repository);
        return (pipeline, await pipeline.ApprovalAsync($"deployment/shop/{name}:1.1.0", a => a.State == ApprovalState.Pending));
    }

    private const string TokenA = "replica-a-claim";

    /// <summary>
    /// Replica A: the approval is approved with its apply work claimed by A (written directly, so no apply of this portal
    /// starts first), and A claims the approval.
    /// </summary>
    private static async Task<Approval> ClaimedByReplicaAAsync(PipelinePortal pipeline, Approval pending)
    {
        var contexts = pipeline.Portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await db.Set<Approval>().Where(a => a.Id == pending.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, ApprovalState.Approved));
            pipeline.Portal.Services.GetRequiredService<Outbox>().Stage(db, new ApprovalApproved(pending.Id));
            var row = db.ChangeTracker.Entries<PortalEvent>().Single().Entity;
            (row.ClaimedBy, row.ClaimToken) = ("replica-a", TokenA);
            await db.SaveChangesAsync();
        }
        var claimed = await pipeline.Approvals.TryClaimAsync(pending.Id, TokenA);
        Assert.NotNull(claimed);
        return claimed;
    }

    [Fact]
    public async Task An_applier_frozen_past_its_lease_and_taken_over_neither_patches_nor_finishes()
    {
        var (pipeline, pending) = await PendingAsync("frozen");
        await using var _ = pipeline;
        var book = pipeline.Approvals;
        // Replica A claims the apply — then freezes (a GC pause, SIGSTOP, a starved node) before it writes.
        var contexts = pipeline.Portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var claimedByA = await ClaimedByReplicaAAsync(pipeline, pending);

        // Past the lease this portal's relay (replica B) takes the apply work over and writes it, once.
        var applied = await pipeline.ApprovalAsync(pending.Identifier, a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(30));
        Assert.NotEqual(claimedByA.ClaimToken, (await book.GetAsync(pending.Id))!.ClaimToken);
        var generation = pipeline.Cluster.Get("Deployment", "shop", "frozen")!["metadata"]!["generation"]!.GetValue<long>();

        // A wakes up and carries on where it stopped, with a write that differs from B's (its digest pin): right before
        // its PATCH, its fence says the claim is gone.
        var applier = pipeline.Portal.Services.GetRequiredService<WorkloadApplier>();
        var lateWrite = await applier.ApplyAsync(new ApplyRequest(pending.WorkloadId, ApprovalBook.ImagesOf(claimedByA), "1.0.0", "1.1.0",
            Digest: "sha256:" + new string('a', 64), OnlyForward: true)
        {
            Fence = async ct =>
            {
                await using var db = await contexts.CreateDbContextAsync(ct);
                return await db.Set<PortalEvent>().AnyAsync(e => e.ClaimToken == TokenA, ct) && await book.HoldsClaimAsync(pending.Id, TokenA, ct);
            },
        });
        var lateFinish = await book.FinishAsync(pending.Id, TokenA, succeeded: false, "A's late failure", null);

        Assert.Equal(ApplyOutcome.ClaimLost, lateWrite.Outcome);
        Assert.False(lateFinish);
        Assert.Equal(1, pipeline.PatchesOf("frozen"));
        Assert.Equal(generation, pipeline.Cluster.Get("Deployment", "shop", "frozen")!["metadata"]!["generation"]!.GetValue<long>());
        var now = await book.GetAsync(pending.Id);
        Assert.Equal((ApprovalState.Applied, applied.Reason), (now!.State, now.Reason));
        Assert.Equal(2, now.ApplyAttempts);
    }

    [Fact]
    public async Task A_write_that_landed_before_its_applier_froze_is_recorded_applied_when_a_newer_version_has_replaced_it_since()
    {
        // A long lease: replica A's claim runs out when the test says so, not when the machine is slow.
        var (pipeline, pending) = await PendingAsync("landed", lease: "00:05:00");
        await using var _ = pipeline;
        var contexts = pipeline.Portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var claimedByA = await ClaimedByReplicaAAsync(pipeline, pending);
        // A writes 1.1.0 (its PATCH lands) and freezes before it records that.
        var applier = pipeline.Portal.Services.GetRequiredService<WorkloadApplier>();
        var write = await applier.ApplyAsync(new ApplyRequest(pending.WorkloadId, ApprovalBook.ImagesOf(claimedByA), "1.0.0", "1.1.0", OnlyForward: true));
        Assert.Equal(ApplyOutcome.Applied, write.Outcome);

        // Meanwhile 1.2.0 is pushed, proposed from the 1.1.0 that runs, approved and applied.
        var repository = pipeline.Repository("team/landed");
        await pipeline.Pusher.TagAsync("team/landed", "1.0.0", "1.2.0");
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync("deployment/shop/landed"))?.Containers.Any(c => c.Tag == "1.1.0") == true,
            TimeSpan.FromSeconds(20), "the watch sees 1.1.0 running");
        await pipeline.PollNowAsync(repository);
        var next = await pipeline.ApprovalAsync("deployment/shop/landed:1.2.0", a => a.State == ApprovalState.Pending);
        Assert.Equal("1.1.0", next.CurrentVersion);
        (await pipeline.VoteAsync("alice", next.Identifier)).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync(next.Identifier, a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(30));

        // A's claim runs out: this portal takes the 1.1.0 apply over, finds 1.2.0 running and writes nothing — and
        // records 1.1.0 as applied (it ran, the next update started from it), not as superseded.
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await db.Set<PortalEvent>().Where(e => e.ClaimToken == TokenA)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedUntilUtc, DateTime.UtcNow.AddMinutes(-1)));
        }
        var ended = await pipeline.ApprovalAsync(pending.Identifier, a => a.State is not ApprovalState.Applying, TimeSpan.FromSeconds(30));

        Assert.Equal(ApprovalState.Applied, ended.State);
        Assert.Equal(2, ended.ApplyAttempts);
        Assert.Contains("1.1.0 was written by an earlier attempt", ended.Reason, StringComparison.Ordinal);
        Assert.Contains("moved on to 1.2.0", ended.Reason, StringComparison.Ordinal);
        Assert.Equal(2, pipeline.PatchesOf("landed")); // A's 1.1.0 and 1.2.0's: the takeover wrote nothing.
        Assert.EndsWith(":1.2.0", pipeline.ImageOf("landed"), StringComparison.Ordinal);
        Assert.Contains("apply.succeeded", await pipeline.AuditActionsAsync(pending.Identifier));
    }

    [Fact]
    public async Task An_apply_slower_than_its_lease_keeps_its_claim_and_another_replica_does_not_write_it_again()
    {
        var (pipeline, pending) = await PendingAsync("slow");
        await using var _ = pipeline;
        await using var second = pipeline.SecondInstance(p => p.With("Work:Lease", "00:00:03"));
        // The API server holds the first PATCH for twice the lease: the applier is slow, not dead.
        pipeline.Cluster.Slow("PATCH", "deployments", TimeSpan.FromSeconds(10));

        (await pipeline.VoteAsync("alice", pending.Identifier)).EnsureSuccessStatusCode();
        var applied = await pipeline.ApprovalAsync(pending.Identifier, a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(40));

        Assert.Equal(1, pipeline.PatchesOf("slow"));
        Assert.Equal(1, applied.ApplyAttempts);
        Assert.Equal(["approval.created", "approval.voted", "approval.approved", "apply.started", "apply.succeeded"],
            (await pipeline.AuditActionsAsync(pending.Identifier)).Where(a => !a.StartsWith("rollout.", StringComparison.Ordinal)));
    }
}

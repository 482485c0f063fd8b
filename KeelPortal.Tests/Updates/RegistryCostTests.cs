using KeelPortal.Approvals;
using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Updates;

/// <summary>
/// What a poll costs the registry: once a version is decided (pending, declined or running), a steady-state cycle is
/// one tag list per repository; a repository only followed by digest is one manifest request. A re-push under a
/// pending approval is caught by the apply, which confirms the digest once.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class RegistryCostTests
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static long Requests(PipelinePortal pipeline) =>
        pipeline.Portal.Services.GetRequiredService<RegistryClient>().StatusOf(pipeline.Registry.Host)?.Requests ?? 0;

    [Fact]
    public async Task A_steady_state_poll_costs_one_request_per_repository()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        var pending = pipeline.Repository("cost/pending");
        var followed = pipeline.Repository("cost/followed");
        await pipeline.Pusher.PushAsync("cost/pending", "1.0.0");
        await pipeline.Pusher.PushAsync("cost/pending", "1.1.0");
        await pipeline.Pusher.PushAsync("cost/followed", "latest");
        pipeline.Deploy("pending", $"{pending}:1.0.0", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "1")));
        pipeline.Deploy("followed", $"{followed}:latest", Keel(("keel.sh/policy", "force"), ("keel.sh/matchTag", "true")));
        // The first polls must see the pods' node platforms already, or a later poll pays the platform check they skipped.
        foreach (var id in new[] { "deployment/shop/pending", "deployment/shop/followed" })
        {
            await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync(id))?.NodePlatforms.Count > 0, TimeSpan.FromSeconds(15), $"{id} knows its nodes");
        }
        await planner.PollAsync(pending);
        await pipeline.ApprovalAsync("deployment/shop/pending:1.1.0", a => a.State == ApprovalState.Pending);
        await planner.PollAsync(followed);

        var costs = new List<long>();
        foreach (var repository in new[] { pending, pending, followed, followed })
        {
            var before = Requests(pipeline);
            await planner.PollAsync(repository);
            costs.Add(Requests(pipeline) - before);
        }

        Assert.Equal([1, 1, 1, 1], costs);
    }

    [Fact]
    public async Task A_tag_pushed_again_after_the_votes_goes_back_to_its_voters_at_apply()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        var repository = pipeline.Repository("cost/repush");
        await pipeline.Pusher.PushAsync("cost/repush", "1.0.0");
        var first = await pipeline.Pusher.PushAsync("cost/repush", "1.1.0");
        pipeline.Deploy("repush", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/repush");
        await planner.PollAsync(repository);
        var proposed = await pipeline.ApprovalAsync("deployment/shop/repush:1.1.0", a => a.State == ApprovalState.Pending);
        var second = await pipeline.Pusher.PushAsync("cost/repush", "1.1.0", new TestImage(Labels: new Dictionary<string, string> { ["rebuilt"] = "yes" }));

        (await pipeline.VoteAsync("alice", proposed.Identifier)).EnsureSuccessStatusCode();
        var back = await pipeline.ApprovalAsync(proposed.Identifier, a => a.State == ApprovalState.Pending && a.Digest == second);

        Assert.Equal(first, proposed.Digest);
        Assert.NotEqual(first, second);
        Assert.Empty(back.Votes);
        Assert.Equal(0, pipeline.PatchesOf("repush"));
        // The audit entry is written just after the state it reports is committed.
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync("deployment/shop/repush")).Contains("approval.votes-reset"),
            TimeSpan.FromSeconds(10), "the votes reset is audited");
    }
}

using System.Net;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Updates;

/// <summary>From a new tag in the registry to a finished rollout, on the real registry and the Kubernetes API test server.</summary>
[Collection(AppHosts.Name)]
public sealed class PipelineTests
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public async Task A_polled_tag_waits_for_two_people_then_is_applied_once_and_rolled_out()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/app");
        await pipeline.Pusher.PushAsync("team/app", "1.2.3");
        await pipeline.Pusher.PushAsync("team/app", "1.2.4");
        pipeline.Deploy("web", $"{repository}:1.2.3", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll")), labels: Keel(("keel.sh/approvals", "2")));
        await pipeline.TrackedAsync("deployment/shop/web");

        await pipeline.PollNowAsync(repository);
        var pending = await pipeline.ApprovalAsync("deployment/shop/web:1.2.4", a => a.State == ApprovalState.Pending);
        var first = await pipeline.VoteAsync("alice", pending.Identifier, claimedVoter: "mallory");
        var afterOne = await pipeline.Approvals.GetAsync(pending.Id);
        var second = await pipeline.VoteAsync("bob", pending.Identifier);
        var applied = await pipeline.ApprovalAsync(pending.Identifier, a => a.State == ApprovalState.Applied);
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync("deployment/shop/web:1.2.4")).Contains("rollout.succeeded"),
            TimeSpan.FromSeconds(20), "rollout followed to its end");

        Assert.Equal((0, 2), (pending.Votes.Count, pending.VotesRequired));
        Assert.Equal("New image is available for resource shop/web (1.2.3 -> 1.2.4).", pending.Message);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(ApprovalState.Pending, afterOne!.State);
        Assert.Equal(["alice"], afterOne.Votes.Select(v => v.Voter));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(["alice", "bob"], applied.Votes.OrderBy(v => v.CastAtUtc).Select(v => v.Voter));
        Assert.Equal(1, pipeline.PatchesOf("web"));
        Assert.Equal($"{repository}:1.2.4", pipeline.ImageOf("web"));
        Assert.Equal(["approval.created", "approval.voted", "approval.voted", "approval.approved", "apply.started", "apply.succeeded", "rollout.succeeded"],
            await pipeline.AuditActionsAsync("deployment/shop/web:1.2.4"));
        Assert.Contains("decision", await pipeline.AuditActionsAsync("deployment/shop/web"));
    }

    [Fact]
    public async Task A_push_notification_from_the_registry_leads_to_the_update()
    {
        await using var pipeline = await PipelinePortal.StartAsync(notifications: true);
        var repository = pipeline.Repository("team/api");
        await pipeline.Pusher.PushAsync("team/api", "2.0.0");
        pipeline.Deploy("api", $"{repository}:2.0.0", Keel(("keel.sh/policy", "patch")));
        await pipeline.TrackedAsync("deployment/shop/api");

        await pipeline.Pusher.PushAsync("team/api", "2.0.1");
        var applied = await pipeline.ApprovalAsync("deployment/shop/api:2.0.1", a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(30));

        Assert.Equal(0, applied.VotesRequired);
        Assert.Equal($"{repository}:2.0.1", pipeline.ImageOf("api"));
        Assert.Equal(1, pipeline.PatchesOf("api"));
        var webhooks = await pipeline.AuditActionsAsync("/v1/webhooks/registry");
        Assert.Contains("webhook.received", webhooks);
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync("deployment/shop/api:2.0.1")).Contains("rollout.succeeded"), TimeSpan.FromSeconds(20));
        Assert.Equal(["update.approved", "apply.started", "apply.succeeded", "rollout.succeeded"], await pipeline.AuditActionsAsync("deployment/shop/api:2.0.1"));
        // The tag's detection (written while the decision reads) is recorded before the decision it led to.
        var trail = await pipeline.AuditActionsAsync(":2.0.1");
        Assert.InRange(trail.IndexOf("tag.detected"), 0, trail.IndexOf("update.approved") - 1);
    }
}

using Bunit;
using System.Net;
using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Notifications;
using KeelPortal.Tests.Notifications;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Updates;

/// <summary>
/// Rollback on the real pipeline: 1.0.0 → 1.1.0 → 1.2.0 by votes, then back to 1.1.0 through the same two votes, the
/// image pinned to the digest 1.1.0 had; the workload is then held, so 1.2.1 is not proposed until the hold is released.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class RollbackTests
{
    private const string Workload = "deployment/shop/shop";

    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static async Task ApproveAsync(PipelinePortal pipeline, string version)
    {
        var identifier = $"{Workload}:{version}";
        await pipeline.ApprovalAsync(identifier, a => a.State == ApprovalState.Pending);
        (await pipeline.VoteAsync("alice", identifier)).EnsureSuccessStatusCode();
        (await pipeline.VoteAsync("bob", identifier)).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync(identifier, a => a.State == ApprovalState.Applied);
    }

    [Fact]
    public async Task A_rollback_takes_two_votes_applies_the_pinned_earlier_image_and_holds_the_workload_until_released()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/shop");
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        var digest = await pipeline.Pusher.PushAsync("team/shop", "1.1.0");
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "2")));
        await pipeline.TrackedAsync(Workload);
        await planner.PollAsync(repository);
        await ApproveAsync(pipeline, "1.1.0");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.0");
        await planner.PollAsync(repository);
        await ApproveAsync(pipeline, "1.2.0");
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync(Workload))!.Containers[0].Tag == "1.2.0", TimeSpan.FromSeconds(10), "the catalog runs 1.2.0");
        using var alice = pipeline.ApiClient("alice");
        using var victor = pipeline.ApiClient("victor");

        var targets = await alice.GetStringAsync($"v1/rollbacks?workload={Workload}");
        Assert.Contains("1.1.0", targets, StringComparison.Ordinal);
        Assert.Contains(digest, targets, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await victor.PostAsJsonAsync("v1/rollbacks", new { workload = Workload, version = "1.1.0", reason = "mine" })).StatusCode);
        Assert.Equal(422, (int)(await alice.PostAsJsonAsync("v1/rollbacks", new { workload = Workload, version = "0.9.0", reason = "never ran" })).StatusCode);
        Assert.Equal(422, (int)(await alice.PostAsJsonAsync("v1/rollbacks", new { workload = Workload, version = "1.2.0", reason = "it runs now" })).StatusCode);

        var requested = await alice.PostAsJsonAsync("v1/rollbacks", new { workload = Workload, version = "1.1.0", reason = "1.2.0 leaks memory" });

        Assert.Equal(HttpStatusCode.OK, requested.StatusCode);
        var rollback = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(("alice", "1.2.0", 2), (rollback.RollbackBy, rollback.CurrentVersion, rollback.VotesRequired));
        // A poll meanwhile does not put a newer version over the pending rollback.
        await pipeline.Pusher.PushAsync("team/shop", "1.2.1");
        Assert.Equal(0, await planner.PollAsync(repository));
        await ApproveAsync(pipeline, "1.1.0");
        Assert.Equal($"{repository}:1.1.0@{digest}", pipeline.ImageOf("shop"));
        Assert.Equal(3, pipeline.PatchesOf("shop"));
        var holds = pipeline.Portal.Services.GetRequiredService<Holds>();
        var hold = await Eventually.ValueAsync(() => holds.ActiveAsync(Workload), h => h is not null, "the workload is held after the rollback");
        Assert.Equal(("rolled back from 1.2.0 to 1.1.0 by alice", "alice"), (hold!.Reason, hold.HeldBy));

        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync(Workload))!.Containers[0].Tag == "1.1.0", TimeSpan.FromSeconds(10), "the catalog runs 1.1.0");
        Assert.Equal(0, await planner.PollAsync(repository));
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync($"v1/holds?workload={Workload}")).StatusCode);
        Assert.Equal(1, await planner.PollAsync(repository));
        Assert.Equal(ApprovalState.Pending, (await pipeline.Approvals.FindAsync($"{Workload}:1.2.1"))!.State);
        var trail = await pipeline.AuditActionsAsync(Workload);
        Assert.Contains("rollback.requested", trail);
        Assert.Contains("workload.hold", trail);
    }

    [Fact]
    public async Task A_failed_rollout_with_automatic_rollback_goes_back_without_votes_declines_the_version_and_tells_the_team_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Work:FirstRetryDelay", "00:00:00.100"));
        await pipeline.Portal.AddAsync(NotificationHost.Channel("ops", ChannelType.Webhook, receiver.Url("ops")));
        var repository = pipeline.Repository("team/shop");
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        await pipeline.Pusher.PushAsync("team/shop", "1.1.0");
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll"), ("keel.sh/rollback", "auto")));
        await pipeline.TrackedAsync(Workload);
        pipeline.Cluster.AutoRollout = false;

        Assert.Equal(1, await planner.PollAsync(repository));
        await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.State == ApprovalState.Applied);
        var catalog = pipeline.Portal.Services.GetRequiredService<WorkloadCatalog>();
        await Eventually.TrueAsync(() => catalog.Find(Workload)?.Generation == 2, TimeSpan.FromSeconds(10), "the watcher saw the new generation");
        pipeline.Cluster.FailRollout("shop", "shop");

        await Eventually.TrueAsync(() => pipeline.ImageOf("shop") == $"{repository}:1.0.0", TimeSpan.FromSeconds(20), "the image is back at 1.0.0");
        await Eventually.TrueAsync(() => catalog.Find(Workload)?.Generation == 3, TimeSpan.FromSeconds(10), "the watcher saw the way back");
        pipeline.Cluster.CompleteRollout("Deployment", "shop", "shop");
        var messages = await receiver.WaitForAsync("ops", 4, TimeSpan.FromSeconds(20));

        Assert.Equal(2, pipeline.PatchesOf("shop"));
        var rollback = (await pipeline.Approvals.ForWorkloadAsync(Workload)).Single(a => a.RollbackBy is not null);
        Assert.Equal((AuditTrail.System, "1.1.0", "1.0.0", 0, ApprovalState.Applied), (rollback.RollbackBy, rollback.CurrentVersion, rollback.NewVersion, rollback.VotesRequired, rollback.State));
        var skip = (await pipeline.Portal.Services.GetRequiredService<Holds>().SkipsAsync(Workload)).Single();
        Assert.Equal(("1.1.0", AuditTrail.System), (skip.Version, skip.SkippedBy));
        Assert.StartsWith("the rollout of 1.1.0 failed — progress deadline exceeded", skip.Reason, StringComparison.Ordinal);
        // The team hears what happened, in order, and why the portal went back.
        Assert.Equal(["UpdateApplied", "RolloutFailed", "UpdateApplied", "RolloutSucceeded"], messages.Select(m => m.Json["metadata"]!["event"]!.GetValue<string>()));
        Assert.StartsWith("Rolled back deployment shop/shop 1.1.0->1.0.0", messages[2].Json["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("automatic rollback to 1.0.0: the rollout of 1.1.0 failed", messages[2].Json["message"]!.GetValue<string>(), StringComparison.Ordinal);
        // The failed version is declined for the workload: the next poll proposes nothing, and no hold was needed.
        Assert.Equal(0, await planner.PollAsync(repository));
        Assert.Null(await pipeline.Portal.Services.GetRequiredService<Holds>().ActiveAsync(Workload));
        Assert.Contains("rollback.automatic", await pipeline.AuditActionsAsync(Workload));

        // The history reads it as a rollback, says why, and links the update it undid.
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "victor", KeelPortal.Access.Roles.Viewer);
        console.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo("/approvals?tab=history");
        var page = console.Render<ApprovalsPage>();
        var failed = (await pipeline.Approvals.FindAsync($"{Workload}:1.1.0"))!;
        page.WaitForAssertion(() =>
        {
            var row = page.FindAll("tr").Single(r => r.QuerySelector("[data-testid=history-state]")?.TextContent.Contains("Rolled back", StringComparison.Ordinal) == true);
            Assert.Equal("Rolled back automatically", row.QuerySelector("[data-testid=history-state]")!.TextContent.Trim());
            Assert.StartsWith("the rollout of 1.1.0 failed — progress deadline exceeded", row.QuerySelector("[data-testid=history-why]")!.TextContent.Trim(), StringComparison.Ordinal);
            Assert.Equal($"approvals?tab=history#approval-{failed.Id}", row.QuerySelector("[data-testid=history-undid]")!.GetAttribute("href"));
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_automatic_rollback_goes_back_even_while_the_stored_snapshot_still_shows_the_version_before_the_apply()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/shop");
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        await pipeline.Pusher.PushAsync("team/shop", "1.1.0");
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll"), ("keel.sh/rollback", "auto")));
        var before = await pipeline.TrackedAsync(Workload);
        pipeline.Cluster.AutoRollout = false;
        Assert.Equal(1, await planner.PollAsync(repository));
        var applied = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.State == ApprovalState.Applied);
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync(Workload))!.Containers[0].Tag == "1.1.0", TimeSpan.FromSeconds(10), "stored at 1.1.0");
        // The apply is recorded before the rollout it starts.
        var rollouts = await Eventually.ValueAsync(
            () => pipeline.Portal.Services.GetRequiredService<RolloutTracker>().ForApprovalsAsync([applied.Id]),
            r => r.ContainsKey(applied.Id), "the apply's rollout is followed", TimeSpan.FromSeconds(10));
        var rollout = rollouts[applied.Id];

        // The rollout is judged from the watch, the moment it fails; the store is written after it, and may still hold
        // the snapshot from before the apply when the failure's event is handled.
        await pipeline.Workloads.WriteAsync([(Workload, before, System.Text.Json.JsonSerializer.Serialize(before, WorkloadStore.Json))], CancellationToken.None);
        await pipeline.Portal.Services.GetRequiredService<Rollbacks>().AutomaticAsync(
            new RolloutFinished(rollout.Id, Workload, "1.0.0", "1.1.0", RolloutState.Failed, "progress deadline exceeded"), CancellationToken.None);

        await Eventually.TrueAsync(() => pipeline.ImageOf("shop") == $"{repository}:1.0.0", TimeSpan.FromSeconds(20), "the image is back at 1.0.0");
        var rollback = (await pipeline.Approvals.ForWorkloadAsync(Workload)).First(a => a.RollbackBy is not null);
        Assert.Equal((AuditTrail.System, "1.1.0", "1.0.0"), (rollback.RollbackBy, rollback.CurrentVersion, rollback.NewVersion));
        Assert.DoesNotContain(pipeline.Portal.Logs.Lines, l => l.Message.Contains("cannot be named again", StringComparison.Ordinal));
    }
}

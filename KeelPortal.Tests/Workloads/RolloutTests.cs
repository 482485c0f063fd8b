using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Workloads;

/// <summary>Following rollouts from the status the controller writes after the patch.</summary>
[Collection(AppHosts.Name)]
public sealed class RolloutTests
{
    private static void Seed(KubeApiServer server)
    {
        foreach (var kind in new[] { "Deployment", "StatefulSet", "DaemonSet", "CronJob" })
        {
            server.Create(KubeObjects.Workload(kind, "shop", kind.ToLowerInvariant(),
                annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "all" }, containers: [("app", "acme/app:1.0.0")]));
            if (kind != "CronJob")
            {
                server.CompleteRollout(kind, "shop", kind.ToLowerInvariant());
            }
        }
    }

    private static async Task<(ApplyResult Applied, Task<RolloutRecord> Rollout)> ApplyAndFollow(ClusterPortal cluster, string kind)
    {
        var id = $"{kind.ToLowerInvariant()}/shop/{kind.ToLowerInvariant()}";
        var applied = await cluster.Applier.ApplyAsync(new ApplyRequest(id, [new ImageUpdate("app", "acme/app:1.1.0")], "1.0.0", "1.1.0"));
        Assert.Equal(ApplyOutcome.Applied, applied.Outcome);
        return (applied, cluster.Rollouts.TrackAsync(id, applied.Generation!.Value, "1.0.0", "1.1.0"));
    }

    [Theory]
    [InlineData("Deployment")]
    [InlineData("StatefulSet")]
    [InlineData("DaemonSet")]
    public async Task A_rollout_succeeds_when_the_controller_reports_every_replica_updated(string kind)
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        RolloutFinished? published = null;
        using var subscription = cluster.Portal.Services.GetRequiredService<EventHub>().Subscribe<RolloutFinished>(f => published = f);

        var (_, rollout) = await ApplyAndFollow(cluster, kind);
        await Eventually.TrueAsync(() => cluster.Catalog.Find($"{kind.ToLowerInvariant()}/shop/{kind.ToLowerInvariant()}")!.Generation == 2, TimeSpan.FromSeconds(10));
        Assert.False(rollout.IsCompleted);
        cluster.Server.CompleteRollout(kind, "shop", kind.ToLowerInvariant());
        var record = await rollout.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(RolloutState.Succeeded, record.State);
        Assert.NotNull(record.FinishedAtUtc);
        Assert.Equal(RolloutState.Succeeded, published!.State);
        var history = await cluster.Rollouts.HistoryAsync(record.WorkloadId);
        Assert.Equal((RolloutState.Succeeded, "1.0.0", "1.1.0"), (history[0].State, history[0].FromVersion, history[0].ToVersion));
    }

    [Fact]
    public async Task A_deployment_past_its_progress_deadline_fails_with_the_controllers_reason()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);

        var (_, rollout) = await ApplyAndFollow(cluster, "Deployment");
        await Eventually.TrueAsync(() => cluster.Catalog.Find("deployment/shop/deployment")!.Generation == 2, TimeSpan.FromSeconds(10));
        cluster.Server.FailRollout("shop", "deployment");
        var record = await rollout.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(RolloutState.Failed, record.State);
        Assert.Equal("progress deadline exceeded: ReplicaSet \"deployment-2\" has timed out progressing.", record.Reason);
    }

    [Fact]
    public async Task A_rollout_that_never_finishes_times_out_with_where_it_stood()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed, p => p.With("Workloads:RolloutTimeout", "00:00:01"));

        var (_, rollout) = await ApplyAndFollow(cluster, "Deployment");
        var record = await rollout.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(RolloutState.TimedOut, record.State);
        Assert.StartsWith("the rollout did not finish within 00:00:01: waiting for the controller", record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cronjob_is_done_once_patched()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);

        var (_, rollout) = await ApplyAndFollow(cluster, "CronJob");
        var record = await rollout.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(RolloutState.Succeeded, record.State);
        Assert.Contains("next Job runs the new image", record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Starting_the_same_rollout_twice_keeps_one_record_and_reports_the_outcome_once()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var finished = new System.Collections.Concurrent.ConcurrentQueue<RolloutFinished>();
        using var subscription = cluster.Portal.Services.GetRequiredService<EventHub>().Subscribe<RolloutFinished>(finished.Enqueue);
        var applied = await cluster.Applier.ApplyAsync(new ApplyRequest("deployment/shop/deployment", [new ImageUpdate("app", "acme/app:1.1.0")], "1.0.0", "1.1.0"));

        var first = await cluster.Rollouts.StartAsync("deployment/shop/deployment", applied.Generation!.Value, "1.0.0", "1.1.0", approvalId: 42);
        var again = await cluster.Rollouts.StartAsync("deployment/shop/deployment", applied.Generation!.Value, "1.0.0", "1.1.0", approvalId: 42);
        cluster.Server.CompleteRollout("Deployment", "shop", "deployment");
        await Eventually.TrueAsync(async () => (await cluster.Rollouts.GetAsync(first.Id))!.State == RolloutState.Succeeded, TimeSpan.FromSeconds(15), "rollout recorded");
        await Eventually.TrueAsync(() => !finished.IsEmpty, TimeSpan.FromSeconds(5), "outcome published");
        var third = await cluster.Rollouts.StartAsync("deployment/shop/deployment", applied.Generation!.Value, "1.0.0", "1.1.0", approvalId: 42);

        Assert.Equal(first.Id, again.Id);
        Assert.Equal((first.Id, RolloutState.Succeeded), (third.Id, third.State));
        Assert.Single(await cluster.Rollouts.HistoryAsync("deployment/shop/deployment"));
        Assert.Single(finished);
        var byApproval = await cluster.Rollouts.ForApprovalsAsync([42]);
        Assert.Equal(RolloutState.Succeeded, byApproval[42].State);
    }

    [Fact]
    public async Task A_rollout_in_progress_when_an_instance_stopped_is_finished_by_the_next_start()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed, p => p.With("Workloads:RolloutTimeout", "00:10:00"));
        var applied = await cluster.Applier.ApplyAsync(new ApplyRequest("deployment/shop/deployment", [new ImageUpdate("app", "acme/app:1.1.0")], "1.0.0", "1.1.0"));
        // What a stopped instance leaves behind: a record still in progress, followed by nobody.
        long id;
        await using (var db = await cluster.Portal.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            var record = new RolloutRecord
            {
                ApprovalId = 7, WorkloadId = "deployment/shop/deployment", FromVersion = "1.0.0", ToVersion = "1.1.0",
                Generation = applied.Generation!.Value, StartedAtUtc = DateTime.UtcNow, State = RolloutState.InProgress, Reason = "started",
            };
            db.Add(record);
            await db.SaveChangesAsync();
            id = record.Id;
        }
        cluster.Server.CompleteRollout("Deployment", "shop", "deployment");

        await using var next = new PortalFactory()
            .With("Workloads:Server", cluster.Server.Url)
            .With("Data:ConnectionString", $"Data Source={Path.Combine(cluster.Portal.DataDirectory, "portal.db")}");
        var tracker = next.Services.GetRequiredService<RolloutTracker>();

        await Eventually.TrueAsync(async () => (await tracker.GetAsync(id))!.State == RolloutState.Succeeded, TimeSpan.FromSeconds(20), "picked up after the start");
    }
}

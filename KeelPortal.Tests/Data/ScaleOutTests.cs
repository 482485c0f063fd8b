using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Tests.Data;

/// <summary>
/// Three portal processes (<c>dotnet KeelPortal.dll</c>) on one real PostgreSQL database, with the Kubernetes API test
/// server (leases under the chart's RBAC), the real registry and a loopback notification receiver. Webhooks and votes
/// land on different replicas; replicas are killed with SIGKILL in the middle of an apply, of a delivery, and while
/// leading. Each approved update is applied once and each notification is answered once.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ScaleOutTests
{
    /// <summary>What the team hears of one update that needed votes, in order.</summary>
    private static readonly string[] Announced = ["ApprovalRequired", "Approved", "UpdateApplied", "RolloutSucceeded"];

    [Fact]
    public async Task Webhooks_and_votes_spread_over_three_replicas_patch_once_notify_once_and_survive_the_leader_being_killed()
    {
        await using var fleet = await PortalFleet.StartAsync();
        const int workloads = 3;
        for (var i = 0; i < workloads; i++)
        {
            await fleet.DeployAsync($"web-{i}", approvals: 2);
        }
        for (var i = 0; i < workloads; i++)
        {
            await fleet.Pusher.PushAsync($"team/web-{i}", "1.1.0");
            await fleet.WebhookAsync(fleet.Replicas[i % 3], $"web-{i}", "1.1.0");
        }
        for (var i = 0; i < workloads; i++)
        {
            await fleet.ApprovalAsync($"web-{i}", a => a.State == ApprovalState.Pending);
            await fleet.VoteAsync(fleet.Replicas[(i + 1) % 3], "alice", $"web-{i}");
            await fleet.VoteAsync(fleet.Replicas[(i + 2) % 3], "bob", $"web-{i}");
        }
        for (var i = 0; i < workloads; i++)
        {
            await fleet.ApprovalAsync($"web-{i}", a => a.State == ApprovalState.Applied);
        }
        // Per workload: approval required, approved, applied, rolled out.
        await fleet.Receiver.WaitForAsync("ops", workloads * 4, TimeSpan.FromSeconds(60));
        await fleet.SettledAsync();

        for (var i = 0; i < workloads; i++)
        {
            // Counted by answer and by what changed: one PATCH that wrote, one generation moved (a conflict answered 409 and
            // retried would be a second request but no second write).
            var answers = fleet.Cluster.Answers("PATCH", $"/deployments/web-{i}");
            Assert.True(answers.Count(a => a is >= 200 and < 300) == 1, $"web-{i}: PATCHes answered {string.Join(", ", answers)}");
            Assert.Equal(2, fleet.Cluster.Get("Deployment", "shop", $"web-{i}")!["metadata"]!["generation"]!.GetValue<long>());
            Assert.Equal($"{fleet.Repository($"web-{i}")}:1.1.0", fleet.ImageOf($"web-{i}"));
        }
        var messages = fleet.Messages();
        Assert.Equal(workloads * 4, messages.Count);
        Assert.All(messages.GroupBy(m => m), g => Assert.Single(g));
        Assert.Equal(
            Enumerable.Range(0, workloads).SelectMany(i => Announced.Select(e => $"web-{i} {e}")).Order(),
            messages.Order());

        // The leader dies without giving the lease up: another replica holds it within the lease and watches.
        var leader = fleet.Replicas.Single(r => r.Name == fleet.LeaseHolder());
        await leader.KillAsync();
        var killed = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.TrueAsync(() => fleet.LeaseHolder() is { } holder && holder != leader.Name, TimeSpan.FromSeconds(15), "another replica holds the lease");
        var takeover = killed.Elapsed;
        fleet.Cluster.Create(KubeObjects.Workload("Deployment", "shop", "after-failover", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
            containers: [("app", "registry.example.com/shop/after:1.0.0")]));
        await Eventually.TrueAsync(async () => await fleet.CountAsync("SELECT count(*) FROM \"Workloads\" WHERE \"Id\" = 'deployment/shop/after-failover'") == 1,
            TimeSpan.FromSeconds(15), "a change made after the failover reaches the catalog");
        Assert.True(takeover < TimeSpan.FromSeconds(15), $"took over after {takeover}");
    }

    [Fact]
    public async Task A_replica_killed_in_the_middle_of_an_apply_or_of_a_delivery_leaves_nothing_lost_and_nothing_doubled()
    {
        await using var fleet = await PortalFleet.StartAsync();
        await fleet.DeployAsync("svc", approvals: 1);
        await fleet.Pusher.PushAsync("team/svc", "1.1.0");

        // The PATCH is held by the API server; the replica that sent it is killed while it waits.
        fleet.Cluster.Slow("PATCH", "deployments", TimeSpan.FromMinutes(2));
        await fleet.WebhookAsync(fleet.Replicas[0], "svc", "1.1.0");
        await fleet.ApprovalAsync("svc", a => a.State == ApprovalState.Pending);
        await fleet.VoteAsync(fleet.Replicas[1], "alice", "svc");
        await Eventually.TrueAsync(() => fleet.Cluster.CountRequests("PATCH", "/deployments/svc") == 1, TimeSpan.FromSeconds(20), "the PATCH reaches the API server");
        // Only the apply is cut short here: "approved" went out with the vote, concurrently with the apply, and is
        // answered and recorded first (a delivery killed between the receiver's answer and its record is the second case).
        await Eventually.TrueAsync(async () => await fleet.CountAsync("SELECT count(*) FROM \"NotificationDeliveries\" WHERE \"State\" = 'Delivered'") == 2,
            TimeSpan.FromSeconds(30), "approval required and approved delivered");
        var applier = await fleet.ClaimerOfAsync(nameof(ApprovalApproved));
        await applier.KillAsync();

        var applied = await fleet.ApprovalAsync("svc", a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(45));
        Assert.Equal($"{fleet.Repository("svc")}:1.1.0", fleet.ImageOf("svc"));
        // The killed replica's PATCH never took effect (its connection went with it); the survivor's did, once.
        Assert.Equal(2, fleet.Cluster.CountRequests("PATCH", "/deployments/svc"));
        Assert.Equal(2, fleet.Cluster.Get("Deployment", "shop", "svc")!["metadata"]!["generation"]!.GetValue<long>());
        Assert.Equal(2, applied.ApplyAttempts);

        // Next: a delivery held by the receiver; the replica sending it is killed while it waits.
        await fleet.Receiver.WaitForAsync("ops", 4, TimeSpan.FromSeconds(60));
        await fleet.SettledAsync();
        fleet.Receiver.Hang("ops");
        await fleet.Pusher.PushAsync("team/svc", "1.2.0");
        await fleet.WebhookAsync(fleet.Replicas.First(r => !r.HasExited), "svc", "1.2.0");
        await fleet.ApprovalAsync("svc", a => a.State == ApprovalState.Pending && a.NewVersion == "1.2.0");
        await fleet.Receiver.WaitForAsync("ops", 5, TimeSpan.FromSeconds(30));
        var sender = await fleet.DeliveringReplicaAsync();
        fleet.Receiver.Unhang("ops");
        await sender.KillAsync();

        await fleet.Receiver.WaitForAsync("ops", 6, TimeSpan.FromSeconds(45));
        await fleet.SettledAsync();
        var required = fleet.Receiver.At("ops").Where(m => m.Json["metadata"]!["event"]!.GetValue<string>() == "ApprovalRequired"
            && m.Json["metadata"]!["to"]!.GetValue<string>() == "1.2.0").ToList();
        // Two arrived: the one the receiver never answered (its sender died waiting) and the survivor's, answered.
        Assert.Equal(2, required.Count);
        Assert.True(fleet.Receiver.At("ops").Count == 6, "received: " + string.Join(", ", fleet.Receiver.At("ops").Select(m =>
            $"{m.Json["metadata"]!["event"]} {m.Json["metadata"]!["to"]} ({m.IdempotencyKey}, {m.Status})")));
        Assert.Equal(1, await fleet.CountAsync("SELECT count(*) FROM \"NotificationDeliveries\" WHERE \"EventKey\" LIKE 'approval:%:ApprovalRequired' AND \"State\" = 'Delivered' AND \"NotificationJson\" LIKE '%1.2.0%'"));
        Assert.Equal(0, await fleet.CountAsync("SELECT count(*) FROM \"NotificationDeliveries\" WHERE \"State\" <> 'Delivered'"));
    }

    [Fact]
    public async Task A_replica_frozen_mid_apply_past_its_lease_and_thawed_neither_writes_again_nor_finishes_what_another_took_over()
    {
        await using var fleet = await PortalFleet.StartAsync();
        await fleet.DeployAsync("frozen", approvals: 1);
        await fleet.Pusher.PushAsync("team/frozen", "1.1.0");

        // The API server holds the PATCH a moment; the replica that sent it is frozen (SIGSTOP) while it waits, for twice
        // the lease (5 s here), so another replica takes the apply over; then it is thawed (SIGCONT).
        fleet.Cluster.Slow("PATCH", "deployments", TimeSpan.FromSeconds(2));
        await fleet.WebhookAsync(fleet.Replicas[0], "frozen", "1.1.0");
        await fleet.ApprovalAsync("frozen", a => a.State == ApprovalState.Pending);
        await fleet.VoteAsync(fleet.Replicas[1], "alice", "frozen");
        await Eventually.TrueAsync(() => fleet.Cluster.CountRequests("PATCH", "/deployments/frozen") == 1, TimeSpan.FromSeconds(20), "the PATCH reaches the API server");
        var applier = await fleet.ClaimerOfAsync(nameof(ApprovalApproved));
        await applier.SignalAsync(stop: true);
        var frozenToken = (await fleet.ApprovalAsync("frozen", a => a.ClaimToken is not null)).ClaimToken;
        var takenOver = await fleet.ApprovalAsync("frozen", a => a.State == ApprovalState.Applied && a.ClaimToken != frozenToken, TimeSpan.FromSeconds(45));
        await applier.SignalAsync(stop: false);
        await Eventually.TrueAsync(() => applier.Output.Contains("another applier took the claim over", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
            "the thawed replica found its claim taken over");
        await fleet.SettledAsync();

        var answers = fleet.Cluster.Answers("PATCH", "/deployments/frozen");
        Assert.True(answers.Count(a => a is >= 200 and < 300) == 1, $"PATCHes answered {string.Join(", ", answers)}");
        Assert.Equal(2, fleet.Cluster.Get("Deployment", "shop", "frozen")!["metadata"]!["generation"]!.GetValue<long>());
        Assert.Equal($"{fleet.Repository("frozen")}:1.1.0", fleet.ImageOf("frozen"));
        var final = await fleet.ApprovalAsync("frozen", a => a.State == ApprovalState.Applied);
        Assert.Equal((takenOver.ClaimToken, takenOver.Reason, 2), (final.ClaimToken, final.Reason, final.ApplyAttempts));
        Assert.Equal(1, await fleet.CountAsync("SELECT count(*) FROM \"AuditEntries\" WHERE \"Action\" = 'apply.succeeded' AND \"Subject\" LIKE '%frozen%'"));
        // One announcement of the update, not one per applier.
        await fleet.Receiver.WaitForAsync("ops", 4, TimeSpan.FromSeconds(30));
        Assert.Single(fleet.Messages(), m => m == "frozen UpdateApplied");
    }
}

using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Workloads;

/// <summary>
/// Two replicas on one PostgreSQL database elect one cluster watcher with a Lease (served by the API test server under
/// the chart's RBAC): only the holder lists and watches; when it stops, the other takes the lease within the lease's
/// duration and a change made to the cluster afterwards reaches the catalog.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class LeaderElectionTests
{
    private static PortalFactory Replica(KubeApiServer cluster, string database, string name) =>
        ReplicaPortal.Create(cluster, database, name, TimeSpan.FromSeconds(3));

    [Fact]
    public async Task One_replica_watches_and_another_takes_over_when_it_stops()
    {
        await using var postgres = await PostgresProcess.StartAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using var cluster = await KubeApiServer.StartAsync();
        cluster.Rbac = await ReplicaPortal.ChartRbacAsync();
        cluster.Create(KubeObjects.Node("node-a"));
        cluster.Create(KubeObjects.Workload("Deployment", "shop", "before", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
            containers: [("app", "registry.example.com/shop/before:1.0.0")]));
        await using var a = Replica(cluster, database, "replica-a");
        var first = a.Services.GetRequiredService<ClusterLeadership>();
        await Eventually.TrueAsync(() => Task.FromResult(first.IsLeader), TimeSpan.FromSeconds(15), "replica-a holds the lease");
        await a.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(30));

        await using var b = Replica(cluster, database, "replica-b");
        var second = b.Services.GetRequiredService<ClusterLeadership>();
        await Eventually.TrueAsync(() => Task.FromResult(second.Leader == "replica-a"), TimeSpan.FromSeconds(15), "replica-b sees replica-a lead");
        Assert.False(second.IsLeader);
        Assert.Equal("replica-a", cluster.Get("Lease", "keel", "keelportal-watcher")!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(0, b.Services.GetRequiredService<WorkloadCatalog>().Count);
        Assert.NotNull(await b.Services.GetRequiredService<WorkloadStore>().GetAsync("deployment/shop/before"));

        // The Overview of the follower says who watches the cluster.
        using (var client = await b.SignedInClientAsync())
        {
            var overview = await client.GetStringAsync("/");
            Assert.Contains("Replica <b>replica-a</b> watches the cluster; this one (replica-b) serves the console", overview, StringComparison.Ordinal);
        }

        var stopped = System.Diagnostics.Stopwatch.StartNew();
        await a.DisposeAsync();
        await Eventually.TrueAsync(() => Task.FromResult(second.IsLeader), TimeSpan.FromSeconds(15), "replica-b takes the lease");
        var takeover = stopped.Elapsed;
        cluster.Create(KubeObjects.Workload("Deployment", "shop", "after", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
            containers: [("app", "registry.example.com/shop/after:1.0.0")]));

        await Eventually.TrueAsync(async () => await b.Services.GetRequiredService<WorkloadStore>().GetAsync("deployment/shop/after") is not null,
            TimeSpan.FromSeconds(15), "a change after the failover reaches the catalog");
        Assert.Equal("replica-b", cluster.Get("Lease", "keel", "keelportal-watcher")!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.True(takeover < TimeSpan.FromSeconds(15), $"took over after {takeover}");
    }
}

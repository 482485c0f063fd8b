using System.Diagnostics;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Bench;

/// <summary>
/// Two replicas on one PostgreSQL database and the Kubernetes API test server: the watching replica is stopped and the
/// time until the other holds the lease, and until a workload created after the stop is in the catalog, is measured.
/// </summary>
public static class LeaderFailoverBenchmark
{
    public static async Task<int> RunAsync(int rounds, TimeSpan lease)
    {
        await using var postgres = await PostgresProcess.StartAsync();
        var takeovers = new List<double>();
        var caughtUp = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var database = await postgres.CreateDatabaseAsync();
            await using var cluster = await KubeApiServer.StartAsync();
            cluster.Rbac = await ReplicaPortal.ChartRbacAsync();
            cluster.Create(KubeObjects.Node("node-a"));
            await using var a = Replica(cluster, database, "replica-a", lease);
            await Eventually.TrueAsync(() => Task.FromResult(a.Services.GetRequiredService<ClusterLeadership>().IsLeader), TimeSpan.FromSeconds(30), "a leads");
            await using var b = Replica(cluster, database, "replica-b", lease);
            var second = b.Services.GetRequiredService<ClusterLeadership>();
            await Eventually.TrueAsync(() => Task.FromResult(second.Leader == "replica-a"), TimeSpan.FromSeconds(30), "b follows");

            var clock = Stopwatch.StartNew();
            await a.DisposeAsync();
            cluster.Create(KubeObjects.Workload("Deployment", "shop", $"after-{round}", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
                containers: [("app", "registry.example.com/shop/after:1.0.0")]));
            await Eventually.TrueAsync(() => Task.FromResult(second.IsLeader), TimeSpan.FromSeconds(60), "b leads");
            takeovers.Add(clock.Elapsed.TotalMilliseconds);
            await Eventually.TrueAsync(async () => await b.Services.GetRequiredService<WorkloadStore>().GetAsync($"deployment/shop/after-{round}") is not null,
                TimeSpan.FromSeconds(60), "caught up");
            caughtUp.Add(clock.Elapsed.TotalMilliseconds);
        }
        Percentiles.Report($"leader stopped -> other replica holds the lease (lease {lease.TotalSeconds:0} s)", takeovers, "0");
        Percentiles.Report("leader stopped -> a workload created meanwhile is in the catalog", caughtUp, "0");
        return 0;
    }

    private static PortalFactory Replica(KubeApiServer cluster, string database, string name, TimeSpan lease)
    {
        var portal = ReplicaPortal.Create(cluster, database, name, lease);
        _ = portal.Services;
        return portal;
    }
}

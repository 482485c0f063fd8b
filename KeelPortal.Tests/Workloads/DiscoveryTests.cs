using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Workloads;

/// <summary>Discovery against the API server: all four kinds, Keel's keys, running digests, platforms, and watch recovery.</summary>
[Collection(AppHosts.Name)]
public sealed class DiscoveryTests
{
    private static Dictionary<string, string> Keys(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static int DeploymentLists(ClusterPortal cluster) => cluster.Server.Requests.Count(r => r.Method == "GET"
        && r.Path.StartsWith("/apis/apps/v1/deployments", StringComparison.Ordinal) && !r.Path.Contains("watch=true", StringComparison.Ordinal));

    private static void Seed(KubeApiServer server)
    {
        server.Create(KubeObjects.Node("node-a", "linux", "amd64"));
        server.Create(KubeObjects.Node("node-b", "linux", "arm64", "v8"));
        server.Create(KubeObjects.Workload("Deployment", "shop", "web",
            annotations: Keys(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll"), ("keel.sh/pollSchedule", "@every 10m"),
                ("keel.sh/notify", "team-web, ops"), ("keel.sh/releaseNotes", "https://example.com/notes")),
            labels: Keys(("keel.sh/approvals", "2"), ("keel.sh/approvalDeadline", "6")),
            containers: [("app", "registry.example.com/shop/web:1.4.2"), ("sidecar", "envoyproxy/envoy:v1.30.1")]));
        server.Create(KubeObjects.Pod("shop", "web-1", "web", "node-a",
            ("app", "registry.example.com/shop/web:1.4.2", "registry.example.com/shop/web@sha256:aaaa"),
            ("sidecar", "envoyproxy/envoy:v1.30.1", "docker-pullable://envoyproxy/envoy@sha256:eeee")));
        server.Create(KubeObjects.Pod("shop", "web-2", "web", "node-b",
            ("app", "registry.example.com/shop/web:1.4.2", "registry.example.com/shop/web@sha256:aaaa")));
        server.Create(KubeObjects.Workload("StatefulSet", "data", "db",
            labels: Keys(("keel.sh/policy", "patch"), ("keel.sh/monitorContainers", "^postgres"), ("keel.sh/initContainers", "true")),
            containers: [("postgres", "postgres:16.2"), ("exporter", "prom/postgres-exporter:0.15.0")],
            initContainers: [("postgres-init", "postgres:16.2"), ("wait", "busybox:1.36")]));
        server.Create(KubeObjects.Workload("DaemonSet", "kube-system", "agent",
            labels: Keys(("keel.observer/policy", "force"), ("keel.sh/match-tag", "true"), ("keel.sh/imagePullSecret", "agent-pull")),
            containers: [("agent", "ghcr.io/acme/agent:latest")]));
        server.Create(KubeObjects.Workload("CronJob", "batch", "report",
            annotations: Keys(("keel.sh/policy", "glob:build-*")), containers: [("report", "acme/report:build-10")]));
        server.Create(KubeObjects.Workload("Deployment", "shop", "broken-votes",
            labels: Keys(("keel.sh/policy", "all"), ("keel.sh/approvals", "two"))));
        server.Create(KubeObjects.Workload("Deployment", "shop", "broken-regex",
            labels: Keys(("keel.sh/policy", "all"), ("keel.sh/monitorContainers", "app["))));
        server.Create(KubeObjects.Workload("Deployment", "shop", "untracked"));
    }

    [Fact]
    public async Task Every_kind_is_discovered_with_its_keel_settings_digests_and_platforms()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);

        var all = await cluster.Store.AllAsync();
        var web = all.Single(w => w.Id == "deployment/shop/web");
        var db = all.Single(w => w.Id == "statefulset/data/db");
        var agent = all.Single(w => w.Id == "daemonset/kube-system/agent");
        var report = all.Single(w => w.Id == "cronjob/batch/report");

        Assert.Equal(["cronjob/batch/report", "daemonset/kube-system/agent", "deployment/shop/broken-regex", "deployment/shop/broken-votes",
            "deployment/shop/web", "statefulset/data/db"], all.Select(w => w.Id));
        Assert.Equal(("minor", TriggerKind.Poll, "@every 10m", 2, 6), (web.Policy, web.Trigger, web.PollSchedule, web.ApprovalsRequired, web.ApprovalDeadlineHours));
        Assert.Equal(["team-web", "ops"], web.NotifyChannels);
        Assert.Equal("https://example.com/notes", web.ReleaseNotes);
        Assert.Equal(["app", "sidecar"], web.Containers.Select(c => c.Name));
        Assert.Equal(("registry.example.com/shop/web", "1.4.2"), (web.Containers[0].Repository, web.Containers[0].Tag));
        Assert.Equal(["sha256:aaaa"], web.Containers[0].RunningDigests);
        Assert.Equal(["sha256:eeee"], web.Containers[1].RunningDigests);
        Assert.Equal(["linux/amd64", "linux/arm64/v8"], web.NodePlatforms);
        Assert.True(web.IsTracked);

        Assert.Equal(["postgres-init", "postgres"], db.Containers.Select(c => c.Name));
        Assert.Equal([true, false], db.Containers.Select(c => c.IsInit));
        Assert.Equal(("force", true), (agent.Policy, agent.MatchTag));
        Assert.Equal(["agent-pull"], agent.PullSecrets);
        Assert.Equal(("glob:build-*", TriggerKind.Webhook), (report.Policy, report.Trigger));
        Assert.Equal("docker.io/acme/report", report.Containers[0].Repository);
    }

    [Fact]
    public async Task Broken_settings_are_kept_with_their_reason_and_do_not_stop_the_others()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);

        var votes = await cluster.Store.GetAsync("deployment/shop/broken-votes");
        var regex = await cluster.Store.GetAsync("deployment/shop/broken-regex");

        Assert.False(votes!.IsTracked);
        Assert.Contains(votes.Errors, e => e.Contains("keel.sh/approvals: 'two' is not a whole number", StringComparison.Ordinal));
        Assert.False(regex!.IsTracked);
        Assert.Contains(regex.Errors, e => e.StartsWith("keel.sh/monitorContainers: 'app[' is not a usable regular expression", StringComparison.Ordinal));
        Assert.True((await cluster.Store.GetAsync("deployment/shop/web"))!.IsTracked);
    }

    [Fact]
    public async Task Changes_arrive_by_watch_and_deleted_workloads_leave_the_database()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);

        cluster.Server.Modify("Deployment", "shop", "web", d => d["metadata"]!["annotations"]!["keel.sh/policy"] = "major");
        cluster.Server.Store.Delete(KubeResources.ByKind("CronJob"), "batch", "report");
        cluster.Server.Create(KubeObjects.Workload("Deployment", "shop", "late", labels: Keys(("keel.sh/policy", "patch"))));

        await cluster.StoredAsync("deployment/shop/web", w => w?.Policy == "major");
        await cluster.StoredAsync("cronjob/batch/report", w => w is null);
        await cluster.StoredAsync("deployment/shop/late", w => w?.Policy == "patch");
    }

    [Fact]
    public async Task A_watch_that_ends_resumes_without_losing_a_change()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var listsBefore = DeploymentLists(cluster);

        var ended = cluster.Server.Store.EndWatches();
        cluster.Server.Modify("Deployment", "shop", "web", d => d["metadata"]!["annotations"]!["keel.sh/policy"] = "patch");

        await cluster.StoredAsync("deployment/shop/web", w => w?.Policy == "patch");
        Assert.True(ended >= 6, $"{ended} watches were open");
        await Eventually.TrueAsync(() => cluster.Server.Store.WatchCount >= ended, TimeSpan.FromSeconds(10), "watches resumed");
        Assert.Equal(listsBefore, DeploymentLists(cluster));
    }

    [Fact]
    public async Task A_watch_from_a_compacted_version_lists_again_and_catches_up()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var listsBefore = DeploymentLists(cluster);

        // Other objects move the cluster's revision past the deployments watch; compaction then drops that history.
        cluster.Server.Create(KubeObjects.Node("node-c"));
        cluster.Server.Store.Compact();
        cluster.Server.Store.EndWatches();
        cluster.Server.Modify("Deployment", "shop", "web", d => d["metadata"]!["annotations"]!["keel.sh/policy"] = "all");

        await cluster.StoredAsync("deployment/shop/web", w => w?.Policy == "all");
        await Eventually.TrueAsync(() => DeploymentLists(cluster) > listsBefore, TimeSpan.FromSeconds(10), "listed again after 410 Gone");
    }

    [Fact]
    public async Task New_pods_update_the_running_digests()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);

        cluster.Server.Create(KubeObjects.Pod("shop", "web-3", "web", "node-a",
            ("app", "registry.example.com/shop/web:1.5.0", "registry.example.com/shop/web@sha256:bbbb")));

        var web = await cluster.StoredAsync("deployment/shop/web", w => w?.Containers[0].RunningDigests.Count == 2);
        Assert.Equal(["sha256:aaaa", "sha256:bbbb"], web!.Containers[0].RunningDigests);
    }

    [Fact]
    public async Task Server_errors_and_slow_answers_on_the_lists_are_ridden_out()
    {
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            Seed(server);
            server.Fail("GET", "deployments", 500, count: 2);
            server.Slow("GET", "statefulsets", TimeSpan.FromSeconds(1));
        });

        Assert.NotNull(await cluster.Store.GetAsync("deployment/shop/web"));
        Assert.NotNull(await cluster.Store.GetAsync("statefulset/data/db"));
        Assert.Contains(cluster.Portal.Logs.Lines, l => l.Message.StartsWith("Listing Deployments in all namespaces failed with 500", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_namespace_allow_list_limits_what_is_watched()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed, p => p.With("Workloads:Namespaces:0", "shop").With("Workloads:Namespaces:1", "batch"));

        var ids = (await cluster.Store.AllAsync()).Select(w => w.Id).ToList();

        Assert.Equal(["cronjob/batch/report", "deployment/shop/broken-regex", "deployment/shop/broken-votes", "deployment/shop/web"], ids);
        Assert.DoesNotContain(cluster.Server.Requests, r => r.Path.StartsWith("/apis/apps/v1/deployments", StringComparison.Ordinal));
        Assert.Contains(cluster.Server.Requests, r => r.Path.StartsWith("/apis/apps/v1/namespaces/shop/deployments", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_stored_change_is_published_in_process()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var published = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var subscription = cluster.Portal.Services.GetRequiredService<EventHub>()
            .Subscribe<WorkloadsChanged>(changed => { foreach (var id in changed.Ids) { published.Enqueue(id); } });

        cluster.Server.Modify("Deployment", "shop", "web", d => d["metadata"]!["labels"]!["keel.sh/approvals"] = "3");

        await Eventually.TrueAsync(() => published.Contains("deployment/shop/web"), TimeSpan.FromSeconds(10));
        Assert.Equal(3, (await cluster.Store.GetAsync("deployment/shop/web"))!.ApprovalsRequired);
    }
}

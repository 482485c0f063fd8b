using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;

namespace KeelPortal.Tests.Workloads;

/// <summary>Applies through KubernetesClient to the API server: minimal patches, Keel's annotations, conflicts, and typed outcomes.</summary>
[Collection(AppHosts.Name)]
public sealed class ApplyTests
{
    private static void Seed(KubeApiServer server)
    {
        server.Create(KubeObjects.Workload("Deployment", "shop", "web",
            annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["argocd.argoproj.io/tracking-id"] = "shop:apps/Deployment:shop/web" },
            containers: [("app", "registry.example.com/shop/web:1.4.2"), ("sidecar", "envoyproxy/envoy:v1.30.1")],
            initContainers: [("migrate", "registry.example.com/shop/web:1.4.2")]));
        server.Create(KubeObjects.Workload("CronJob", "batch", "report",
            annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "all" }, containers: [("report", "acme/report:1.0.0")]));
        foreach (var kind in new[] { "StatefulSet", "DaemonSet" })
        {
            server.Create(KubeObjects.Workload(kind, "data", kind.ToLowerInvariant(),
                labels: new Dictionary<string, string> { ["keel.sh/policy"] = "patch" }, containers: [("app", "acme/app:2.0.0")]));
        }
    }

    private static ApplyRequest WebTo(string tag, string? digest = null) =>
        new("deployment/shop/web", [new ImageUpdate("app", $"registry.example.com/shop/web:{tag}")], "1.4.2", tag, digest);

    private static JsonObject WithoutOwnedFields(JsonObject workload)
    {
        var copy = (JsonObject)workload.DeepClone();
        copy["metadata"]!.AsObject().Remove("resourceVersion");
        copy["metadata"]!.AsObject().Remove("generation");
        copy["metadata"]!["annotations"]!.AsObject().Remove("kubernetes.io/change-cause");
        copy["metadata"]!["annotations"]!.AsObject().Remove("keel.sh/digest");
        var template = copy["kind"]!.GetValue<string>() == "CronJob" ? copy["spec"]!["jobTemplate"]!["spec"]!["template"]! : copy["spec"]!["template"]!;
        template["metadata"]!.AsObject().Remove("annotations");
        foreach (var container in template["spec"]!["containers"]!.AsArray())
        {
            container!.AsObject().Remove("image");
        }
        return copy;
    }

    [Fact]
    public async Task The_from_version_is_what_the_object_runs_when_the_patch_is_computed_not_what_the_proposal_saw()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var first = await cluster.Applier.ApplyAsync(WebTo("1.4.3"));
        await cluster.StoredAsync("deployment/shop/web", w => w?.Containers[0].Tag == "1.4.3");

        // Proposed while the workload still ran 1.4.2; applied after 1.4.3 went out.
        var second = await cluster.Applier.ApplyAsync(WebTo("1.5.0"));

        var after = cluster.Server.Get("Deployment", "shop", "web")!;
        Assert.Equal(("1.4.2", "1.4.3"), (first.FromVersion, second.FromVersion));
        Assert.Equal("keel automated update, version 1.4.3 -> 1.5.0", after["metadata"]!["annotations"]!["kubernetes.io/change-cause"]!.GetValue<string>());
        Assert.Equal("deployment/shop/web updated 1.4.3 -> 1.5.0", second.Reason);
    }

    [Fact]
    public async Task One_patch_changes_only_the_image_and_writes_keels_annotations()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var before = cluster.Server.Get("Deployment", "shop", "web")!;
        cluster.Server.ClearRequests();

        var result = await cluster.Applier.ApplyAsync(WebTo("1.5.0", "sha256:1234"));

        var after = cluster.Server.Get("Deployment", "shop", "web")!;
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Equal(after["metadata"]!["generation"]!.GetValue<long>(), result.Generation);
        var writes = cluster.Server.Requests.Where(r => r.Method != "GET").ToList();
        var patch = Assert.Single(writes);
        Assert.Equal("PATCH", patch.Method);
        Assert.StartsWith("application/strategic-merge-patch+json", patch.ContentType, StringComparison.Ordinal);
        Assert.Equal(0, cluster.Server.Requests.Count(r => r.Method == "GET" && !r.Path.Contains("watch=true", StringComparison.Ordinal)));
        var containers = after["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
        Assert.Equal("registry.example.com/shop/web:1.5.0", containers[0]!["image"]!.GetValue<string>());
        Assert.Equal("envoyproxy/envoy:v1.30.1", containers[1]!["image"]!.GetValue<string>());
        Assert.Equal("registry.example.com/shop/web:1.4.2", after["spec"]!["template"]!["spec"]!["initContainers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("keel automated update, version 1.4.2 -> 1.5.0", after["metadata"]!["annotations"]!["kubernetes.io/change-cause"]!.GetValue<string>());
        Assert.Equal("sha256:1234", after["metadata"]!["annotations"]!["keel.sh/digest"]!.GetValue<string>());
        Assert.NotNull(after["spec"]!["template"]!["metadata"]!["annotations"]!["keel.sh/update-time"]);
        Assert.Equal(WithoutOwnedFields(before).ToJsonString(), WithoutOwnedFields(after).ToJsonString());
    }

    [Fact]
    public async Task Applying_again_finds_the_workload_at_its_target_and_does_nothing()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var first = await cluster.Applier.ApplyAsync(WebTo("1.5.0"));
        await Eventually.TrueAsync(() => cluster.Catalog.Find("deployment/shop/web")?.Generation == first.Generation, TimeSpan.FromSeconds(10));
        cluster.Server.ClearRequests();

        var second = await cluster.Applier.ApplyAsync(WebTo("1.5.0"));

        Assert.Equal(ApplyOutcome.AlreadyAtTarget, second.Outcome);
        Assert.Equal(0, cluster.Server.CountRequests("PATCH"));
    }

    [Fact]
    public async Task A_conflict_reads_the_workload_again_and_retries_keeping_the_other_change()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var changedUnderUs = 0;
        cluster.Server.BeforePatch = (resource, ns, name) =>
        {
            if (Interlocked.Increment(ref changedUnderUs) == 1)
            {
                cluster.Server.Modify("Deployment", ns, name, d => d["spec"]!["replicas"] = 5);
            }
        };

        var result = await cluster.Applier.ApplyAsync(WebTo("1.5.0"));

        var after = cluster.Server.Get("Deployment", "shop", "web")!;
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Equal(2, cluster.Server.CountRequests("PATCH"));
        Assert.Equal(5, after["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("registry.example.com/shop/web:1.5.0", after["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_workload_that_keeps_changing_is_given_up_after_the_bounded_retries()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed, p => p.With("Workloads:MaxConflictRetries", "3"));
        cluster.Server.BeforePatch = (_, ns, name) => cluster.Server.Modify("Deployment", ns, name,
            d => d["metadata"]!["labels"]!["bump"] = Guid.NewGuid().ToString("N"));

        var result = await cluster.Applier.ApplyAsync(WebTo("1.5.0"));

        Assert.Equal(ApplyOutcome.ConflictGaveUp, result.Outcome);
        Assert.Contains("gave up after 3 attempts", result.Reason, StringComparison.Ordinal);
        Assert.Equal(3, cluster.Server.CountRequests("PATCH"));
    }

    [Fact]
    public async Task Forbidden_is_reported_once_with_the_servers_reason()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        cluster.Server.Forbid("PATCH", "deployments");

        var result = await cluster.Applier.ApplyAsync(WebTo("1.5.0"));

        Assert.Equal(ApplyOutcome.Forbidden, result.Outcome);
        Assert.Contains("cannot patch resource \"deployments\"", result.Reason, StringComparison.Ordinal);
        Assert.Equal(1, cluster.Server.CountRequests("PATCH"));
    }

    [Fact]
    public async Task A_deleted_workload_and_a_missing_container_are_typed_outcomes()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);

        var missing = await cluster.Applier.ApplyAsync(new ApplyRequest("deployment/shop/web", [new ImageUpdate("nope", "a:1")], "1", "2"));
        var gone = await cluster.Applier.ApplyAsync(new ApplyRequest("deployment/shop/ghost", [new ImageUpdate("app", "a:1")], "1", "2"));
        var bad = await cluster.Applier.ApplyAsync(new ApplyRequest("pod/shop/web", [new ImageUpdate("app", "a:1")], "1", "2"));

        Assert.Equal((ApplyOutcome.Invalid, "deployment/shop/web has no container named nope"), (missing.Outcome, missing.Reason));
        Assert.Equal((ApplyOutcome.WorkloadGone, "deployment/shop/ghost no longer exists"), (gone.Outcome, gone.Reason));
        Assert.Equal(ApplyOutcome.Invalid, bad.Outcome);
        Assert.Equal(0, cluster.Server.CountRequests("PATCH"));
    }

    [Fact]
    public async Task A_mutable_tag_is_pinned_to_its_digest_and_init_containers_are_patched_by_name()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var pinned = "registry.example.com/shop/web:1.4.2@sha256:" + new string('a', 64);

        var result = await cluster.Applier.ApplyAsync(new ApplyRequest("deployment/shop/web",
            [new ImageUpdate("app", pinned), new ImageUpdate("migrate", pinned)], "1.4.2", "1.4.2", "sha256:" + new string('a', 64)));

        var spec = cluster.Server.Get("Deployment", "shop", "web")!["spec"]!["template"]!["spec"]!;
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Equal(pinned, spec["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(pinned, spec["initContainers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(2, spec["containers"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("cronjob/batch/report", "CronJob", "batch", "report")]
    [InlineData("statefulset/data/statefulset", "StatefulSet", "data", "statefulset")]
    [InlineData("daemonset/data/daemonset", "DaemonSet", "data", "daemonset")]
    public async Task Every_kind_is_patched_where_its_pod_template_lives(string id, string kind, string ns, string name)
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        var before = cluster.Server.Get(kind, ns, name)!;
        var container = kind == "CronJob" ? "report" : "app";

        var result = await cluster.Applier.ApplyAsync(new ApplyRequest(id, [new ImageUpdate(container, "acme/new:9.9.9")], "1", "9.9.9"));

        var after = cluster.Server.Get(kind, ns, name)!;
        var template = kind == "CronJob" ? after["spec"]!["jobTemplate"]!["spec"]!["template"]! : after["spec"]!["template"]!;
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Equal("acme/new:9.9.9", template["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.NotNull(template["metadata"]!["annotations"]!["keel.sh/update-time"]);
        Assert.Equal(WithoutOwnedFields(before).ToJsonString(), WithoutOwnedFields(after).ToJsonString());
    }

    [Fact]
    public async Task A_server_error_is_an_api_error_with_the_status_and_reason()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        cluster.Server.Fail("PATCH", "deployments", 500);

        var result = await cluster.Applier.ApplyAsync(WebTo("1.5.0"));

        Assert.Equal(ApplyOutcome.ApiError, result.Outcome);
        Assert.Contains("(500): an error on the server (injected 500)", result.Reason, StringComparison.Ordinal);
        Assert.Equal("registry.example.com/shop/web:1.4.2",
            cluster.Server.Get("Deployment", "shop", "web")!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }
}

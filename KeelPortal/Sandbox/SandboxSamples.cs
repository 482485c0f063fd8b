using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Sandbox;

/// <summary>
/// The sample workloads, one of each kind and policy, as a team would annotate them: an update that needs two votes,
/// automatic patches, a major with two votes, force with matchTag, glob and regexp, a DaemonSet, one whose settings
/// are wrong, and one in a change window with automatic rollback.
/// </summary>
public static class SandboxSamples
{
    public const string WindowName = "sandbox-hours";

    private sealed record Sample(string Kind, string Namespace, string Name, string Repository, string Tag, Dictionary<string, string> Annotations, Dictionary<string, string>? Labels = null);

    private static IEnumerable<Sample> All() =>
    [
        new("Deployment", "shop", "storefront", "team/storefront", "1.0.0",
            new() { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll", ["keel.sh/pollSchedule"] = "@every 30s" }, new() { ["keel.sh/approvals"] = "2" }),
        new("Deployment", "shop", "checkout", "team/checkout", "2.3.0", new() { ["keel.sh/policy"] = "patch" }),
        new("Deployment", "payments", "ledger", "team/ledger", "3.0.0", new() { ["keel.sh/policy"] = "major" }, new() { ["keel.sh/approvals"] = "2" }),
        new("Deployment", "payments", "gateway", "team/gateway", "latest", new() { ["keel.sh/policy"] = "force", ["keel.sh/matchTag"] = "true" }),
        new("CronJob", "batch", "reports", "team/reports", "release-2026.11", new() { ["keel.sh/policy"] = "glob:release-*" }),
        new("StatefulSet", "batch", "worker", "team/worker", "build-41", new() { ["keel.sh/policy"] = "regexp:^build-(?P<compare>[0-9]+)$" }),
        new("DaemonSet", "shop", "edge", "team/edge", "1.4.0", new() { ["keel.sh/policy"] = "minor" }),
        new("Deployment", "shop", "legacy", "team/checkout", "2.3.0", new() { ["keel.sh/policy"] = "sometimes" }),
        new("Deployment", "shop", "web", "team/web", "1.0.0",
            new() { ["keel.sh/policy"] = "patch", ["keel.sh/rollback"] = "auto", ["keel.sh/rollbackAfter"] = "2m", ["keel.sh/windows"] = WindowName }),
    ];

    /// <summary>Without helm at hand: only the release record Helm would have written, so <c>helm list -A</c> shows <c>shop/docs</c>.</summary>
    public static void SeedHelmRecord(KubeApiServer cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        cluster.Create(KubeObjects.HelmReleaseSecret(new System.Text.Json.Nodes.JsonObject
        {
            ["chart"] = new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "docs", ["version"] = "0.3.0", ["appVersion"] = "1.0.0" } },
            ["info"] = new System.Text.Json.Nodes.JsonObject { ["first_deployed"] = "2026-12-01T10:00:00Z", ["last_deployed"] = "2026-12-01T10:00:00Z", ["description"] = "Install complete" },
            ["config"] = new System.Text.Json.Nodes.JsonObject(),
        }, "shop", "docs", 1, "deployed"));
    }

    /// <summary>
    /// Plays the workload controller and kubelet for the pods: a finished rollout replaces the workload's pod with one
    /// running the new images, ready; a failed one leaves the old pod and adds a new one crash-looping.
    /// </summary>
    public static void FollowPods(KubeApiServer cluster, string kind, string ns, string name, System.Text.Json.Nodes.JsonObject workload, bool succeeded, Func<string, string> imageId)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(imageId);
        var pods = KubeResources.ByKind("Pod");
        var generation = workload["metadata"]?["generation"]?.GetValue<long>() ?? 1;
        var images = (workload["spec"]?["template"]?["spec"]?["containers"]?.AsArray() ?? [])
            .Select(c => (c!["name"]!.GetValue<string>(), c["image"]!.GetValue<string>(), imageId(c["image"]!.GetValue<string>())))
            .ToArray();
        if (kind == "CronJob" || images.Length == 0)
        {
            return;
        }
        var pod = KubeObjects.Pod(ns, $"{name}-{generation}", name, "node-a", images);
        if (!succeeded)
        {
            foreach (var status in pod["status"]!["containerStatuses"]!.AsArray())
            {
                status!["ready"] = false;
                status["restartCount"] = 5;
                status["state"] = new System.Text.Json.Nodes.JsonObject { ["waiting"] = new System.Text.Json.Nodes.JsonObject { ["reason"] = "CrashLoopBackOff", ["message"] = "back-off 2m40s restarting failed container" } };
            }
            cluster.Create(pod);
            return;
        }
        foreach (var old in cluster.Store.List(pods, ns, p => p["metadata"]?["labels"]?["app"]?.GetValue<string>() == name, 0, 100).Items)
        {
            cluster.Store.Delete(pods, ns, old["metadata"]!["name"]!.GetValue<string>());
        }
        cluster.Create(pod);
    }

    /// <summary>Creates the namespaces, nodes and sample workloads (each finished rolling out, with a running pod).</summary>
    public static void Seed(KubeApiServer cluster, string registryHost, Func<string, string> imageId)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(imageId);
        cluster.Create(KubeObjects.Node("node-a"));
        cluster.Create(KubeObjects.Node("node-b", arch: "arm64"));
        foreach (var ns in new[] { "shop", "payments", "batch" })
        {
            cluster.Create(KubeObjects.Namespace(ns));
        }
        foreach (var s in All())
        {
            var image = $"{registryHost}/{s.Repository}:{s.Tag}";
            cluster.Create(KubeObjects.Workload(s.Kind, s.Namespace, s.Name, labels: s.Labels, annotations: s.Annotations, containers: [("app", image)]));
            if (s.Kind is "Deployment" or "StatefulSet" or "DaemonSet")
            {
                cluster.CompleteRollout(s.Kind, s.Namespace, s.Name);
            }
            cluster.Create(KubeObjects.Pod(s.Namespace, s.Name + "-0", s.Name, "node-a", ("app", image, imageId(image))));
        }

    }
}

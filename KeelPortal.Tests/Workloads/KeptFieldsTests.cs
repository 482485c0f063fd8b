using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;

namespace KeelPortal.Tests.Workloads;

/// <summary>
/// The catalog keeps of each pod and workload only the fields it reads, so a large cluster's objects are not held
/// whole; what the portal shows, decides and patches stays the same.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class KeptFieldsTests
{
    private const string LastApplied = "kubectl.kubernetes.io/last-applied-configuration";
    private const string Image = "registry.example.com/shop/web:1.4.2";

    [Fact]
    public void A_pod_is_kept_with_its_name_labels_node_phase_and_what_each_container_runs()
    {
        var pod = KubernetesJson.Deserialize<V1Pod>(KubeObjects.FullPod("shop", "web-1", "web", "node-a", "app", Image, "registry.example.com/shop/web@sha256:aaaa").ToJsonString());

        var kept = JsonNode.Parse(KubernetesJson.Serialize(KeptFields.Of(pod)))!;

        var expected = JsonNode.Parse("""
            {
              "metadata": { "labels": { "app": "web", "pod-template-hash": "7d9f8b6c5" }, "name": "web-1", "namespace": "shop", "resourceVersion": "42" },
              "spec": { "nodeName": "node-a" },
              "status": {
                "containerStatuses": [ { "image": "registry.example.com/shop/web:1.4.2", "imageID": "registry.example.com/shop/web@sha256:aaaa", "name": "app", "ready": true, "restartCount": 0 } ],
                "phase": "Running"
              }
            }
            """);
        Assert.True(JsonNode.DeepEquals(expected, kept), kept.ToJsonString());
    }

    [Fact]
    public async Task A_cluster_of_full_sized_objects_is_discovered_shown_and_patched_as_before_while_only_what_is_read_is_kept()
    {
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            server.Create(KubeObjects.Node("node-a", "linux", "amd64"));
            server.Create(KubeObjects.Applied(KubeObjects.Workload("Deployment", "shop", "web",
                annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll" }, containers: [("app", Image)])));
            server.Create(KubeObjects.FullPod("shop", "web-1", "web", "node-a", "app", Image, "registry.example.com/shop/web@sha256:aaaa"));
        });
        const string Id = "deployment/shop/web";

        var stored = await cluster.StoredAsync(Id, s => s is { Containers: [{ RunningDigests.Count: 1 }] });
        var seen = cluster.Catalog.Find(Id)!;
        var pods = cluster.Catalog.PodsOf(Id);

        // Discovered and shown as before: settings, image, running digest, platform, pods.
        Assert.Equal(("minor", "registry.example.com/shop/web", "1.4.2", "sha256:aaaa"),
            (stored!.Policy, stored.Containers[0].Repository, stored.Containers[0].Tag, stored.Containers[0].RunningDigests[0]));
        Assert.Equal(["linux/amd64"], stored.NodePlatforms);
        Assert.Empty(stored.Errors);
        Assert.Equal([new PodContainer("app", "registry.example.com/shop/web:1.4.2", "sha256:aaaa")], Assert.Single(pods).Containers);
        Assert.Equal(("web-1", "Running", true), (pods[0].Name, pods[0].Phase, pods[0].Ready));
        // Kept: Keel's keys, without kubectl's copy of the manifest; the containers' names and images, not their environment.
        Assert.Equal(["keel.sh/policy", "keel.sh/trigger"], seen.Annotations.Keys.Order(StringComparer.Ordinal));
        var container = Assert.Single(seen.Template.Spec.Containers);
        Assert.Equal(("app", "registry.example.com/shop/web:1.4.2", null, null), (container.Name, container.Image, container.Env, container.VolumeMounts));
        Assert.Null(seen.Template.Spec.Volumes);

        // The patch names only the image: the cluster's copy keeps everything the catalog does not.
        var applied = await cluster.Applier.ApplyAsync(new ApplyRequest(Id, [new ImageUpdate("app", "registry.example.com/shop/web:1.5.0")], "1.4.2", "1.5.0"));
        Assert.Equal(ApplyOutcome.Applied, applied.Outcome);
        var after = cluster.Server.Get("Deployment", "shop", "web")!;
        var podSpec = after["spec"]!["template"]!["spec"]!;
        Assert.Equal("registry.example.com/shop/web:1.5.0", podSpec["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("postgres://db:5432/shop", podSpec["containers"]![0]!["env"]![0]!["value"]!.GetValue<string>());
        Assert.Equal("app-config", podSpec["volumes"]![0]!["configMap"]!["name"]!.GetValue<string>());
        Assert.NotNull(after["metadata"]!["annotations"]![LastApplied]);
    }
}

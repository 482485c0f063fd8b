using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Tests.Workloads;

/// <summary>
/// kubectl, an independent client, against the test API server: if kubectl can create, list, patch, watch a rollout
/// and delete through it, the server speaks the protocol our product code relies on.
/// </summary>
public sealed class KubectlFaithfulnessTests : IAsyncLifetime
{
    private KubeApiServer server = null!;
    private string folder = null!;
    private string kubeconfig = null!;

    public async Task InitializeAsync()
    {
        server = await KubeApiServer.StartAsync();
        folder = Directory.CreateTempSubdirectory("keelportal-kubectl-").FullName;
        kubeconfig = server.WriteKubeconfig(folder);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Kubectl_creates_lists_patches_follows_a_rollout_and_deletes()
    {
        var manifest = Path.Combine(folder, "web.json");
        await File.WriteAllTextAsync(manifest, KubeObjects.Workload("Deployment", "default", "web",
            annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" }).ToJsonString());

        var created = await KubectlAsync("create", "-f", manifest, "--validate=false");
        var listed = JsonNode.Parse(await KubectlAsync("get", "deployments", "--all-namespaces", "-o", "json"))!;
        var patched = await KubectlAsync("patch", "deployment", "web", "-n", "default", "--type=strategic",
            "-p", """{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.26.0"}]}}}}""");
        var rollout = KubectlAsync("rollout", "status", "deployment/web", "-n", "default", "--timeout=60s");
        await Eventually.TrueAsync(() => server.Store.WatchCount > 0, TimeSpan.FromSeconds(30), "kubectl rollout status watches");
        server.CompleteRollout("Deployment", "default", "web");
        var status = await rollout;
        var image = await KubectlAsync("get", "deployment", "web", "-n", "default", "-o", "jsonpath={.spec.template.spec.containers[0].image}");
        var deleted = await KubectlAsync("delete", "deployment", "web", "-n", "default");

        Assert.Contains("deployment.apps/web created", created, StringComparison.Ordinal);
        Assert.Equal("web", listed["items"]![0]!["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("minor", listed["items"]![0]!["metadata"]!["annotations"]!["keel.sh/policy"]!.GetValue<string>());
        Assert.Contains("deployment.apps/web patched", patched, StringComparison.Ordinal);
        Assert.Contains("successfully rolled out", status, StringComparison.Ordinal);
        Assert.Equal("nginx:1.26.0", image);
        Assert.Contains("deleted", deleted, StringComparison.Ordinal);
        Assert.Null(server.Get("Deployment", "default", "web"));
    }

    [Fact]
    public async Task Kubectl_sees_a_stale_resource_version_as_a_conflict()
    {
        server.Create(KubeObjects.Workload("Deployment", "default", "api"));
        var stale = server.Get("Deployment", "default", "api")!["metadata"]!["resourceVersion"]!.GetValue<string>();
        server.Modify("Deployment", "default", "api", d => d["metadata"]!["labels"]!["team"] = "payments");

        var result = await RunKubectlRawAsync("patch", "deployment", "api", "-n", "default", "--type=merge",
            "-p", new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = stale, ["labels"] = new JsonObject { ["team"] = "search" } } }.ToJsonString());

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("the object has been modified", result.Error, StringComparison.Ordinal);
        Assert.Equal("payments", server.Get("Deployment", "default", "api")!["metadata"]!["labels"]!["team"]!.GetValue<string>());
    }

    [Fact]
    public async Task Kubectl_sees_a_strategic_merge_keep_the_other_containers()
    {
        server.Create(KubeObjects.Workload("Deployment", "default", "two", containers: [("app", "a:1"), ("sidecar", "envoy:1.30")]));

        await KubectlAsync("patch", "deployment", "two", "-n", "default", "--type=strategic",
            "-p", """{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"a:2"}]}}}}""");
        var images = await KubectlAsync("get", "deployment", "two", "-n", "default", "-o", "jsonpath={.spec.template.spec.containers[*].image}");

        Assert.Equal("a:2 envoy:1.30", images);
    }

    private async Task<string> KubectlAsync(params string[] args)
    {
        var result = await RunKubectlRawAsync(args);
        Assert.True(result.ExitCode == 0, $"kubectl {string.Join(' ', args)} failed ({result.ExitCode}): {result.Error}");
        return result.Output;
    }

    private Task<(int ExitCode, string Output, string Error)> RunKubectlRawAsync(params string[] args) =>
        ToolProcess.RunAsync(RegistryProcess.Which("kubectl") ?? throw new InvalidOperationException("kubectl is not installed: run ./test.sh"),
            ["--kubeconfig", kubeconfig, "--request-timeout=60s", .. args], new Dictionary<string, string> { ["HOME"] = folder });

    [Fact]
    public async Task Kubectl_set_image_and_a_json_patch_with_a_test_operation()
    {
        server.Create(KubeObjects.Workload("Deployment", "default", "api", containers: [("app", "a:1"), ("sidecar", "envoy:1.30")]));

        var set = await KubectlAsync("set", "image", "deployment/api", "app=a:2", "-n", "default");
        var failedTest = await RunKubectlRawAsync("patch", "deployment", "api", "-n", "default", "--type=json",
            "-p", """[{"op":"test","path":"/spec/replicas","value":7},{"op":"replace","path":"/spec/replicas","value":1}]""");
        await KubectlAsync("patch", "deployment", "api", "-n", "default", "--type=json",
            "-p", """[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":3}]""");
        var state = await KubectlAsync("get", "deployment", "api", "-n", "default", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[*].image}");

        Assert.Contains("deployment.apps/api image updated", set, StringComparison.Ordinal);
        Assert.NotEqual(0, failedTest.ExitCode);
        Assert.Equal("3 a:2 envoy:1.30", state);
    }
}

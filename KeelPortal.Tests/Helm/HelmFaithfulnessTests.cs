using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using Xunit.Abstractions;

namespace KeelPortal.Tests.Helm;

/// <summary>
/// Helm, an independent client, against the test API server: if helm can install, upgrade and read back a release
/// (in both of its storage drivers), the server speaks what the portal's Helm provider relies on.
/// </summary>
public sealed class HelmFaithfulnessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private KubeApiServer server = null!;
    private string folder = null!;
    private string kubeconfig = null!;

    public async Task InitializeAsync()
    {
        server = await KubeApiServer.StartAsync();
        folder = Directory.CreateTempSubdirectory("keelportal-helm-").FullName;
        kubeconfig = server.WriteKubeconfig(folder);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Theory]
    [InlineData("secret")]
    [InlineData("configmap")]
    public async Task Helm_installs_upgrades_and_reads_back_a_release(string driver)
    {
        var environment = new Dictionary<string, string> { ["HELM_DRIVER"] = driver };

        await RunAsync(environment, "install", "web", HelmTool.Chart("app"), "-n", "shop");
        await RunAsync(environment, "upgrade", "web", HelmTool.Chart("app"), "-n", "shop", "--reuse-values", "--set-string", "image.tag=1.3.0");
        var history = await RunAsync(environment, "history", "web", "-n", "shop", "-o", "json");
        var values = await RunAsync(environment, "get", "values", "web", "-n", "shop", "-o", "json");

        var revisions = JsonNode.Parse(history)!.AsArray();
        Assert.Equal(["superseded", "deployed"], revisions.Select(r => r!["status"]!.GetValue<string>()));
        Assert.Equal("1.3.0", JsonNode.Parse(values)!["image"]!["tag"]!.GetValue<string>());
        var deployment = server.Get("Deployment", "shop", "web")!;
        Assert.Equal("registry.example/team/app:1.3.0", deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("web", deployment["metadata"]!["annotations"]!["meta.helm.sh/release-name"]!.GetValue<string>());
        // The release objects went over the wire as protobuf and are served back as Helm wrote them.
        var resource = driver == "secret" ? "secrets" : "configmaps";
        var writes = server.Requests.Where(r => r.Path.Contains($"/{resource}", StringComparison.Ordinal) && r.Method is "POST" or "PUT").ToList();
        Assert.Equal(5, writes.Count);
        Assert.All(writes, w => Assert.Equal("application/vnd.kubernetes.protobuf", w.ContentType));
        var stored = server.Store.List(KubeResources.ByKind(driver == "secret" ? "Secret" : "ConfigMap"), "shop", _ => true, 0, 100).Items;
        Assert.Equal(["deployed", "superseded"], stored.Select(o => o["metadata"]!["labels"]!["status"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        output.WriteLine(string.Join('\n', server.Requests.Select(r => $"{r.Method} {r.Path} {r.ContentType}")));
    }

    private async Task<string> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var (code, stdout, stderr) = await HelmTool.RunRawAsync(kubeconfig, environment, args);
        Assert.True(code == 0, $"helm {string.Join(' ', args)}: {stderr}{stdout}");
        return stdout;
    }
}

using System.Text.Json.Nodes;
using k8s;
using KeelPortal.Helm;

namespace KeelPortal.Tests.Helm;

public sealed class HelmKubeconfigTests
{
    [Fact]
    public async Task The_kubeconfig_for_helm_carries_the_portals_connection_and_only_its_owner_may_read_it()
    {
        var folder = Directory.CreateTempSubdirectory("keelportal-kubeconfig-");
        try
        {
            var config = new KubernetesClientConfiguration { Host = "https://10.0.0.1:6443", AccessToken = "secret-token", SkipTlsVerify = true };

            var path = await HelmKubeconfig.WriteAsync(config, folder.FullName, CancellationToken.None);

            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
            var document = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
            Assert.Equal("https://10.0.0.1:6443", document["clusters"]![0]!["cluster"]!["server"]!.GetValue<string>());
            Assert.True(document["clusters"]![0]!["cluster"]!["insecure-skip-tls-verify"]!.GetValue<bool>());
            Assert.Equal("secret-token", document["users"]![0]!["user"]!["token"]!.GetValue<string>());
            Assert.Equal("portal", document["current-context"]!.GetValue<string>());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Values_paths_are_read_as_helm_names_them_and_coalescing_lets_the_release_win()
    {
        var chart = JsonNode.Parse("""{"image":{"repository":"r","tag":"1.0.0","pullPolicy":"IfNotPresent"},"list":[{"tag":"a"}],"gone":"x"}""")!.AsObject();
        var release = JsonNode.Parse("""{"image":{"tag":"1.2.0"},"gone":null}""")!.AsObject();

        var values = HelmValues.Coalesce(chart, release);

        Assert.Equal("1.2.0", HelmValues.Get(values, "image.tag"));
        Assert.Equal("IfNotPresent", HelmValues.Get(values, "image.pullPolicy"));
        Assert.Equal("a", HelmValues.Get(values, "list[0].tag"));
        Assert.Null(HelmValues.Get(values, "gone"));
        Assert.Null(HelmValues.Get(values, "image"));
        Assert.True(HelmValues.IsPath("images[0].tag"));
        Assert.False(HelmValues.IsPath("image.tag,other=1"));
        Assert.False(HelmValues.IsPath("a..b"));
    }
}

using System.Text;
using KeelPortal.Registries;

namespace KeelPortal.Tests.Registries;

public sealed class PullSecretsTests
{
    private static Dictionary<string, byte[]> Data(string key, string json) =>
        new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(json) };

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void Reads_dockerconfigjson_with_auth_or_username_and_password_and_maps_docker_hub()
    {
        var json = $$$"""
            {"auths":{
              "https://index.docker.io/v1/":{"auth":"{{{B64("hubuser:hub:pass")}}}"},
              "registry.example.com:5000":{"username":"robot","password":"p@ss"},
              "https://ghcr.io":{"auth":"{{{B64("gh:token")}}}"}
            }}
            """;
        var (credentials, error) = PullSecrets.Read("pull", PullSecrets.DockerConfigJson, Data(".dockerconfigjson", json));

        Assert.Null(error);
        Assert.Equal(("hubuser", "hub:pass"), (credentials["docker.io"].Username, credentials["docker.io"].Password));
        Assert.Equal(("robot", "p@ss"), (credentials["registry.example.com:5000"].Username, credentials["registry.example.com:5000"].Password));
        Assert.Equal("gh", credentials["ghcr.io"].Username);
        Assert.Equal("secret pull", credentials["ghcr.io"].Source);
    }

    [Fact]
    public void Reads_the_older_dockercfg_format()
    {
        var json = $$$"""{"quay.io":{"auth":"{{{B64("q:w")}}}","email":"x@example.com"}}""";
        var (credentials, error) = PullSecrets.Read("legacy", PullSecrets.DockerCfg, Data(".dockercfg", json));

        Assert.Null(error);
        Assert.Equal("q", credentials["quay.io"].Username);
    }

    [Theory]
    [InlineData("Opaque", ".dockerconfigjson", "{}", "has type 'Opaque'")]
    [InlineData(PullSecrets.DockerConfigJson, ".dockercfg", "{}", "has no .dockerconfigjson entry")]
    [InlineData(PullSecrets.DockerConfigJson, ".dockerconfigjson", "{\"x\":1}", "has no 'auths' object")]
    [InlineData(PullSecrets.DockerConfigJson, ".dockerconfigjson", "not json, password=hunter2", "is not valid docker configuration JSON")]
    public void A_bad_secret_gives_a_reason_without_its_content(string type, string key, string json, string reason)
    {
        var (credentials, error) = PullSecrets.Read("broken", type, Data(key, json));

        Assert.Empty(credentials);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Lookup_order_is_keel_secret_then_pod_secrets_then_stored_credentials()
    {
        var image = ImageReference.Parse("registry.example.com/app:1.0");
        var keelSecret = new Dictionary<string, RegistryCredential> { ["other.io"] = new("a", "a", "keel") };
        var podSecret = new Dictionary<string, RegistryCredential> { ["registry.example.com"] = new("pod", "p", "secret pod") };
        var stored = new Dictionary<string, RegistryCredential> { ["registry.example.com"] = new("stored", "s", "portal") };

        Assert.Equal("pod", CredentialLookup.Find(image, [keelSecret, podSecret], stored)!.Username);
        Assert.Equal("stored", CredentialLookup.Find(image, [keelSecret], stored)!.Username);
        Assert.Null(CredentialLookup.Find(image, [keelSecret]));
    }

    [Fact]
    public void A_credential_never_prints_its_password()
    {
        var credential = new RegistryCredential("robot", "very-secret", "secret pull");
        Assert.DoesNotContain("very-secret", credential.ToString(), StringComparison.Ordinal);
    }
}

using KeelPortal.Registries;

namespace KeelPortal.Tests.Registries;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("nginx", "docker.io", "library/nginx", null, null, "registry-1.docker.io")]
    [InlineData("nginx:1.25", "docker.io", "library/nginx", "1.25", null, "registry-1.docker.io")]
    [InlineData("karolisr/keel:0.2.0", "docker.io", "karolisr/keel", "0.2.0", null, "registry-1.docker.io")]
    [InlineData("docker.io/library/nginx", "docker.io", "library/nginx", null, null, "registry-1.docker.io")]
    [InlineData("index.docker.io/foo/bar:1", "docker.io", "foo/bar", "1", null, "registry-1.docker.io")]
    [InlineData("gcr.io/v2-namespace/hello-world:1.1.1", "gcr.io", "v2-namespace/hello-world", "1.1.1", null, "gcr.io")]
    [InlineData("localhost/app", "localhost", "app", null, null, "localhost")]
    [InlineData("localhost:5000/team/app:dev", "localhost:5000", "team/app", "dev", null, "localhost:5000")]
    [InlineData("registry.example.com:8443/a/b/c/d:v2.0.1-rc.1", "registry.example.com:8443", "a/b/c/d", "v2.0.1-rc.1", null, "registry.example.com:8443")]
    [InlineData("foo/bar/baz", "docker.io", "foo/bar/baz", null, null, "registry-1.docker.io")]
    [InlineData("quay.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "quay.io", "org/app", null, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "quay.io")]
    [InlineData("app:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker.io", "library/app", "latest", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "registry-1.docker.io")]
    [InlineData("my.registry/app_x.y-z", "my.registry", "app_x.y-z", null, null, "my.registry")]
    public void Normalises_like_container_runtimes(string text, string registry, string repository, string? tag, string? digest, string apiHost)
    {
        var reference = ImageReference.Parse(text);
        Assert.Equal((registry, repository, tag, digest, apiHost), (reference.Registry, reference.Repository, reference.Tag, reference.Digest, reference.ApiHost));
    }

    [Fact]
    public void An_untagged_reference_means_latest()
    {
        Assert.Equal("latest", ImageReference.Parse("nginx").TagOrLatest);
        Assert.Equal("docker.io/library/nginx:latest", ImageReference.Parse("nginx").WithTag("latest").ToString());
    }

    [Theory]
    [InlineData("Nginx", "upper-case")]
    [InlineData("docker.io/Library/nginx", "upper-case")]
    [InlineData("", "empty")]
    [InlineData("app@sha256:xyz", "is not a digest")]
    [InlineData("app:-bad", "is not a valid tag")]
    [InlineData("app:" + "tag-that-is-far-too-long-tag-that-is-far-too-long-tag-that-is-far-too-long-tag-that-is-far-too-long-tag-that-is-far-too-long-tag-that-is-far-too-long-x", "is not a valid tag")]
    [InlineData("registry.io//app", "is not a valid repository name")]
    [InlineData("registry.io/-app", "is not a valid repository name")]
    public void Rejects_bad_references_with_a_reason(string text, string reason)
    {
        Assert.False(ImageReference.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_hosts_are_matched_case_insensitively_but_repositories_are_not_lowered()
    {
        Assert.Equal("registry.example.com", ImageReference.Parse("Registry.Example.COM/app").Registry);
    }
}

public sealed class RegistryEndpointTests
{
    [Theory]
    [InlineData("docker.io", null, "https://registry-1.docker.io/")]
    [InlineData("ghcr.io", null, "https://ghcr.io/")]
    [InlineData("127.0.0.1:5000", null, "http://127.0.0.1:5000/")]
    [InlineData("docker.io", "mirror.example.com", "https://mirror.example.com/")]
    public void Requests_go_to_the_host_that_serves_the_registrys_api(string registry, string? mirror, string expected)
    {
        using var endpoint = new KeelPortal.Registries.RegistryEndpoint(registry, new KeelPortal.Registries.RegistrySettings { Mirror = mirror },
            new KeelPortal.Registries.RegistriesOptions(), TimeProvider.System, TestSupport.TestMetrics.Create());

        Assert.Equal(expected, endpoint.BaseUri.ToString());
    }
}

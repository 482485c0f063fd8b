using KeelPortal.Policies;
using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Registries;

public sealed class AnonymousRegistryTests(AnonymousRegistry fixture) : IClassFixture<AnonymousRegistry>
{
    [Fact]
    public async Task Lists_every_tag_of_a_repository_with_more_than_a_hundred()
    {
        await fixture.Pusher.PushAsync("many/tags", "1.0.0");
        var expected = new List<string> { "1.0.0" };
        for (var i = 1; i <= 130; i++)
        {
            await fixture.Pusher.TagAsync("many/tags", "1.0.0", $"1.0.{i}");
            expected.Add($"1.0.{i}");
        }
        using var client = RegistryFixture.NewClient();

        var tags = await client.ListTagsAsync(fixture.Image("many/tags"));

        Assert.True(tags.Succeeded, tags.Failure?.Reason);
        Assert.Equal(expected.Order(), tags.Value!.Order());
    }

    [Theory]
    [InlineData(ManifestFormat.Docker)]
    [InlineData(ManifestFormat.Oci)]
    public async Task Reads_a_single_manifest_digest_with_one_head_request(ManifestFormat format)
    {
        var pushed = await fixture.Pusher.PushAsync("digest/" + format.ToString().ToLowerInvariant(), "2.0.0", format: format);
        using var client = RegistryFixture.NewClient();

        var digest = await client.GetDigestAsync(fixture.Image($"digest/{format.ToString().ToLowerInvariant()}:2.0.0"));

        Assert.Equal(pushed, digest.Value);
        Assert.Equal(1, client.StatusOf(fixture.Registry.Host)!.Requests);
    }

    [Theory]
    [InlineData(ManifestFormat.Oci)]
    [InlineData(ManifestFormat.Docker)]
    public async Task Reads_an_index_digest_and_its_platforms_including_variants(ManifestFormat format)
    {
        var repo = "multi/" + format.ToString().ToLowerInvariant();
        var pushed = await fixture.Pusher.PushIndexAsync(repo, "3.1.0",
            [new TestImage("linux/amd64"), new TestImage("linux/arm64/v8"), new TestImage("linux/arm/v7")], format);
        using var client = RegistryFixture.NewClient();

        var digest = await client.GetDigestAsync(fixture.Image(repo + ":3.1.0"));
        var platforms = await client.GetPlatformsAsync(fixture.Image(repo + ":3.1.0"));

        Assert.Equal(pushed, digest.Value);
        Assert.Equal(["linux/amd64", "linux/arm64/v8", "linux/arm/v7"], platforms.Value!.Select(p => p.ToString()));
    }

    [Fact]
    public async Task Reads_a_single_image_platform_from_its_config()
    {
        await fixture.Pusher.PushAsync("single/arm", "1.0", new TestImage("linux/arm/v6"));
        using var client = RegistryFixture.NewClient();

        var platforms = await client.GetPlatformsAsync(fixture.Image("single/arm:1.0"));

        Assert.Equal([new Platform("linux", "arm", "v6")], platforms.Value);
    }

    [Fact]
    public async Task Reads_creation_time_and_oci_labels_from_the_config_even_behind_an_index()
    {
        var created = new DateTimeOffset(2026, 11, 1, 12, 30, 0, TimeSpan.Zero);
        var labels = new Dictionary<string, string>
        {
            ["org.opencontainers.image.source"] = "https://example.com/shop",
            ["org.opencontainers.image.revision"] = "abc123",
            ["org.opencontainers.image.version"] = "4.2.0",
        };
        var digest = await fixture.Pusher.PushIndexAsync("labelled/app", "4.2.0", [new TestImage("linux/amd64", created, labels)]);
        using var client = RegistryFixture.NewClient();

        var info = await client.GetImageInfoAsync(fixture.Image("labelled/app:4.2.0"));

        Assert.True(info.Succeeded, info.Failure?.Reason);
        Assert.Equal(digest, info.Value!.Digest);
        Assert.Equal(created, info.Value.Created);
        Assert.Equal(("https://example.com/shop", "abc123", "4.2.0"), (info.Value.Source, info.Value.Revision, info.Value.Version));
    }

    [Fact]
    public async Task A_missing_repository_or_tag_is_a_not_found_failure_with_the_name()
    {
        await fixture.Pusher.PushAsync("present/app", "1.0.0");
        using var client = RegistryFixture.NewClient();

        var repo = await client.ListTagsAsync(fixture.Image("absent/app"));
        var tag = await client.GetDigestAsync(fixture.Image("present/app:9.9.9"));

        Assert.Equal(RegistryFailureKind.NotFound, repo.Failure!.Kind);
        Assert.Contains("absent/app", repo.Failure.Reason, StringComparison.Ordinal);
        Assert.Equal(RegistryFailureKind.NotFound, tag.Failure!.Kind);
        Assert.Contains("present/app:9.9.9", tag.Failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_registry_is_a_typed_failure_not_an_exception()
    {
        using var client = RegistryFixture.NewClient(o => o.MaxRetries = 0);
        using var closed = new ClosedPort();

        var tags = await client.ListTagsAsync(ImageReference.Parse($"127.0.0.1:{closed.Port}/nobody/home"));

        Assert.Equal(RegistryFailureKind.Unreachable, tags.Failure!.Kind);
        Assert.Contains("unreachable", tags.Failure.Reason, StringComparison.Ordinal);
    }
}

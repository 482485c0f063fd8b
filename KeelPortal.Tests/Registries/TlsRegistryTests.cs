using KeelPortal.Registries;

namespace KeelPortal.Tests.Registries;

/// <summary>A registry behind HTTPS with a private CA: refused by default, reachable with its CA bundle or by skipping verification.</summary>
public sealed class TlsRegistryTests(TlsRegistry fixture) : IClassFixture<TlsRegistry>, IAsyncLifetime
{
    public async Task InitializeAsync() => await fixture.Pusher.PushAsync("secure/app", "1.2.3");

    public Task DisposeAsync() => Task.CompletedTask;

    private ImageReference Image => ImageReference.Parse($"{fixture.Registry.Host}/secure/app:1.2.3");

    private RegistryClient Client(RegistrySettings settings)
    {
        settings.PlainHttp = false;
        return RegistryFixture.NewClient(o => o.Hosts[fixture.Registry.Host] = settings);
    }

    [Fact]
    public async Task An_untrusted_certificate_is_a_tls_failure_that_is_not_retried()
    {
        using var client = Client(new RegistrySettings());

        var tags = await client.ListTagsAsync(Image);

        Assert.Equal(RegistryFailureKind.Tls, tags.Failure!.Kind);
        Assert.Contains("TLS", tags.Failure.Reason, StringComparison.Ordinal);
        Assert.Contains(fixture.Registry.Host, tags.Failure.Reason, StringComparison.Ordinal);
        Assert.Equal(1, client.StatusOf(fixture.Registry.Host)!.Requests);
    }

    [Fact]
    public async Task The_registrys_ca_bundle_makes_it_trusted()
    {
        using var client = Client(new RegistrySettings { CaBundlePath = fixture.Certificates.CaPath });

        var tags = await client.ListTagsAsync(Image);
        var digest = await client.GetDigestAsync(Image);

        Assert.True(tags.Succeeded, tags.Failure?.Reason);
        Assert.Equal(["1.2.3"], tags.Value!);
        Assert.True(digest.Succeeded, digest.Failure?.Reason);
    }

    [Fact]
    public async Task Skipping_verification_reaches_it_without_the_ca()
    {
        using var client = Client(new RegistrySettings { SkipTlsVerify = true });

        var tags = await client.ListTagsAsync(Image);

        Assert.True(tags.Succeeded, tags.Failure?.Reason);
    }
}

using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeelPortal.Tests.Registries;

/// <summary>A registry host with a port (which cannot be a configuration key) is configured through Registries:List.</summary>
[Collection(AppHosts.Name)]
public sealed class RegistryListTests(AnonymousRegistry fixture) : IClassFixture<AnonymousRegistry>
{
    [Fact]
    public async Task A_list_entry_for_a_host_with_a_port_applies_to_that_registry_from_configuration()
    {
        await fixture.Pusher.PushAsync("list/app", "1.0.0");
        await using var portal = new PortalFactory()
            .With("Registries:List:0:Host", fixture.Registry.Host)
            .With("Registries:List:0:PlainHttp", "false")
            .With("Registries:List:0:RequestsPerMinute", "7")
            .With("Registries:List:0:AttemptTimeout", "00:00:02")
            .With("Registries:RetryBaseDelay", "00:00:00.010");
        var options = portal.Services.GetRequiredService<IOptions<RegistriesOptions>>().Value;

        // The entry applies: plain HTTP is off for this loopback registry, so reading it over TLS fails.
        var overTls = await portal.Services.GetRequiredService<IRegistryClient>().ListTagsAsync(fixture.Image("list/app"));
        var plain = await RegistryFixture.NewClient().ListTagsAsync(fixture.Image("list/app"));

        Assert.Equal(7, options.For(fixture.Registry.Host).RequestsPerMinute);
        Assert.Equal(1200, options.For("registry.example.com").RequestsPerMinute);
        Assert.False(overTls.Succeeded);
        Assert.True(plain.Succeeded);
    }

    [Fact]
    public async Task An_entry_without_a_usable_host_stops_startup_naming_the_key()
    {
        await using var portal = new PortalFactory().With("Registries:List:0:Host", "not a host:99999");

        Assert.ThrowsAny<InvalidOperationException>(() => portal.CreateClient());

        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("Registries:List:0:Host: 'not a host:99999' is not a registry host", StringComparison.Ordinal));
    }
}

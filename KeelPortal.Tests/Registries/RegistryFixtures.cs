using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KeelPortal.Tests.Registries;

/// <summary>One real registry process per test class, in the class's authentication mode.</summary>
public abstract class RegistryFixture(RegistryAuth auth) : IAsyncLifetime
{
    public RegistryProcess Registry { get; private set; } = null!;
    public ImagePusher Pusher { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Registry = await RegistryProcess.StartAsync(auth);
        Pusher = new ImagePusher(Registry);
    }

    public async Task DisposeAsync()
    {
        Pusher.Dispose();
        await Registry.DisposeAsync();
    }

    public ImageReference Image(string repositoryAndTag) => ImageReference.Parse($"{Registry.Host}/{repositoryAndTag}");

    /// <summary>A fresh client (empty token cache, zeroed counters) with short retry delays.</summary>
    public static RegistryClient NewClient(Action<RegistriesOptions>? configure = null)
    {
        var options = new RegistriesOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(10) };
        configure?.Invoke(options);
        return new RegistryClient(Options.Create(options), TimeProvider.System, TestSupport.TestMetrics.Create(), NullLogger<RegistryClient>.Instance);
    }
}

public sealed class AnonymousRegistry() : RegistryFixture(RegistryAuth.Anonymous);

public sealed class HtpasswdRegistry() : RegistryFixture(RegistryAuth.Htpasswd);

public sealed class TokenRegistry() : RegistryFixture(RegistryAuth.Token);

/// <summary>An anonymous registry serving HTTPS with a certificate from a test CA that the machine does not trust.</summary>
public sealed class TlsRegistry : IAsyncLifetime
{
    public TestCertificates Certificates { get; } = TestCertificates.Create();
    public RegistryProcess Registry { get; private set; } = null!;
    public ImagePusher Pusher { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Registry = await RegistryProcess.StartAsync(RegistryAuth.Anonymous, Certificates);
        Pusher = new ImagePusher(Registry);
    }

    public async Task DisposeAsync()
    {
        Pusher.Dispose();
        await Registry.DisposeAsync();
        Certificates.Dispose();
    }
}

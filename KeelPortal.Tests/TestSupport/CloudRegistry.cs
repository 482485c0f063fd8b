namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// A cloud registry stood in for by the real registry: htpasswd with exactly the account a cloud's token service issues
/// (besides the pusher's), a repository with 1.0.0 and 1.1.0, and the portal told to reach the cloud host there.
/// </summary>
public sealed class CloudRegistry : IAsyncDisposable
{
    private CloudRegistry(RegistryProcess registry, ImagePusher pusher) => (Registry, Pusher) = (registry, pusher);

    public RegistryProcess Registry { get; }
    public ImagePusher Pusher { get; }

    public static async Task<CloudRegistry> StartAsync(string user, string password, string repository)
    {
        var registry = await RegistryProcess.StartAsync(RegistryAuth.Htpasswd, users: [(user, password)]);
        var pusher = new ImagePusher(registry);
        await pusher.PushAsync(repository, "1.0.0");
        await pusher.PushAsync(repository, "1.1.0");
        return new CloudRegistry(registry, pusher);
    }

    /// <summary>Images named on <paramref name="host"/> are read from this registry (as from a mirror), still with the host's credentials.</summary>
    public PortalFactory Serve(PortalFactory portal, string host) => portal.With("Registries:List:0:Host", host).With("Registries:List:0:Mirror", Registry.Host);

    /// <summary>
    /// A pipeline whose portal reads <paramref name="host"/> from this registry, with a Deployment on
    /// <c>&lt;host&gt;/&lt;repository&gt;:1.0.0</c> (minor, polled, one approval) tracked; <paramref name="configure"/> and
    /// <paramref name="settings"/> say how the portal reaches the cloud.
    /// </summary>
    public async Task<PipelinePortal> PipelineAsync(string host, string repository, Action<PortalFactory>? configure, IEnumerable<(string Key, string Value)> settings)
    {
        var pipeline = await PipelinePortal.StartAsync(configure: p =>
        {
            Serve(p, host);
            configure?.Invoke(p);
            foreach (var (key, value) in settings)
            {
                p.With(key, value);
            }
        });
        pipeline.Deploy("web", $"{host}/{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll" },
            labels: new Dictionary<string, string> { ["keel.sh/approvals"] = "1" });
        await pipeline.TrackedAsync("deployment/shop/web");
        return pipeline;
    }

    public async ValueTask DisposeAsync()
    {
        Pusher.Dispose();
        await Registry.DisposeAsync();
    }
}

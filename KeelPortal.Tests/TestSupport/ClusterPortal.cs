using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.TestSupport;

/// <summary>The portal connected to a fresh in-process API server, through KubernetesClient over HTTP.</summary>
public sealed class ClusterPortal : IAsyncDisposable
{
    private ClusterPortal(KubeApiServer server, PortalFactory portal)
    {
        Server = server;
        Portal = portal;
    }

    public KubeApiServer Server { get; }
    public PortalFactory Portal { get; }

    public WorkloadStore Store => Portal.Services.GetRequiredService<WorkloadStore>();
    public WorkloadCatalog Catalog => Portal.Services.GetRequiredService<WorkloadCatalog>();
    public WorkloadApplier Applier => Portal.Services.GetRequiredService<WorkloadApplier>();
    public RolloutTracker Rollouts => Portal.Services.GetRequiredService<RolloutTracker>();
    public ClusterConnection Connection => Portal.Services.GetRequiredService<ClusterConnection>();

    /// <summary>
    /// Starts the server, lets <paramref name="seed"/> create objects, then starts the portal and waits for its first
    /// snapshot of the cluster.
    /// </summary>
    public static async Task<ClusterPortal> StartAsync(Action<KubeApiServer>? seed = null, Action<PortalFactory>? configure = null)
    {
        var server = await KubeApiServer.StartAsync();
        seed?.Invoke(server);
        var portal = new PortalFactory()
            .With("Workloads:Server", server.Url)
            .With("Workloads:ReconnectDelay", "00:00:00.100")
            .With("Workloads:RolloutTimeout", "00:00:30");
        configure?.Invoke(portal);
        _ = portal.Services;
        var cluster = new ClusterPortal(server, portal);
        await cluster.Portal.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(30));
        return cluster;
    }

    /// <summary>Waits until the stored snapshot of <paramref name="id"/> satisfies <paramref name="condition"/>.</summary>
    public async Task<WorkloadSnapshot?> StoredAsync(string id, Func<WorkloadSnapshot?, bool> condition)
    {
        WorkloadSnapshot? last = null;
        await Eventually.TrueAsync(async () => condition(last = await Store.GetAsync(id)), TimeSpan.FromSeconds(15), $"stored snapshot of {id}");
        return last;
    }

    public async ValueTask DisposeAsync()
    {
        await Portal.DisposeAsync();
        await Server.DisposeAsync();
    }
}

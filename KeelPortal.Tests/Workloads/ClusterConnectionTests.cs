using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Workloads;

/// <summary>No cluster, a cluster that is down and comes back, and a kubeconfig context.</summary>
[Collection(AppHosts.Name)]
public sealed class ClusterConnectionTests
{
    [Fact]
    public async Task Without_a_cluster_the_portal_runs_and_the_overview_says_why_and_how_to_connect()
    {
        await using var portal = new PortalFactory();
        using var client = await portal.SignedInClientAsync();

        var ready = await client.GetAsync("/readyz");
        var overview = await client.GetStringAsync("/");

        Assert.True(ready.IsSuccessStatusCode);
        Assert.Contains("No cluster connected", overview, StringComparison.Ordinal);
        Assert.Contains("no kubeconfig at", overview, StringComparison.Ordinal);
        Assert.Contains("Workloads:Server", overview, StringComparison.Ordinal);
        Assert.Equal(ClusterState.NotConfigured, portal.Services.GetRequiredService<ClusterConnection>().Status.State);
    }

    [Fact]
    public async Task An_unreachable_cluster_is_reported_and_reconnected_when_it_comes_back()
    {
        var closed = new ClosedPort();
        var port = closed.Port;
        await using var portal = new PortalFactory()
            .With("Workloads:Server", $"http://127.0.0.1:{port}")
            .With("Workloads:ReconnectDelay", "00:00:00.100");
        var connection = portal.Services.GetRequiredService<ClusterConnection>();
        using var client = await portal.SignedInClientAsync();

        await Eventually.TrueAsync(() => connection.Status.State == ClusterState.Unreachable, TimeSpan.FromSeconds(15));
        var overview = await client.GetStringAsync("/");
        // The cluster comes back on the port the portal knows: released and taken again at once.
        closed.Dispose();
        await using var server = await KubeApiServer.StartAsync(port: port);
        server.Create(KubeObjects.Workload("Deployment", "default", "web", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "all" }));
        await portal.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("The cluster cannot be reached", overview, StringComparison.Ordinal);
        Assert.Contains($"cannot reach http://127.0.0.1:{port}", overview, StringComparison.Ordinal);
        Assert.Equal(ClusterState.Connected, connection.Status.State);
        Assert.Equal("v1.32.0", connection.Status.ServerVersion);
        Assert.NotNull(await portal.Services.GetRequiredService<WorkloadStore>().GetAsync("deployment/default/web"));
        Assert.Contains(portal.Logs.Lines, l => l.Message.StartsWith($"Cannot reach http://127.0.0.1:{port}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_kubeconfig_context_is_used_and_shown()
    {
        await using var server = await KubeApiServer.StartAsync();
        var folder = Directory.CreateTempSubdirectory("keelportal-kubeconfig-").FullName;
        var kubeconfig = server.WriteKubeconfig(folder, context: "staging");
        try
        {
            await using var portal = new PortalFactory().With("Workloads:Kubeconfig", kubeconfig).With("Workloads:Context", "staging");
            _ = portal.Services;
            await portal.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromSeconds(30));
            using var client = await portal.SignedInClientAsync();

            var overview = await client.GetStringAsync("/");

            Assert.Contains("context staging", overview, StringComparison.Ordinal);
            Assert.Contains("No workload is tracked yet", overview, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Tests.TestSupport.Kube;
using KeelPortal.Workloads;

namespace KeelPortal.Tests.Helm;

/// <summary>Helm's storage read through the API server page by page, as a cluster with many releases serves it.</summary>
[Collection(AppHosts.Name)]
public sealed class HelmDiscoveryTests
{
    private static JsonObject Release() => JsonNode.Parse("""
        {
          "chart": {
            "metadata": { "name": "app", "version": "1.4.0", "appVersion": "1.0.0" },
            "values": {
              "image": { "repository": "registry.example/team/app", "tag": "1.0.0" },
              "keel": { "policy": "minor", "trigger": "poll", "images": [ { "repository": "image.repository", "tag": "image.tag" } ] }
            }
          },
          "config": {},
          "info": { "status": "deployed" }
        }
        """)!.AsObject();

    [Fact]
    public async Task Releases_over_several_pages_of_helms_storage_are_all_discovered_each_with_its_history()
    {
        const int Releases = 120;
        const int Revisions = 3; // 360 release Secrets: four pages of at most 100
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            for (var i = 0; i < Releases; i++)
            {
                for (var revision = 1; revision <= Revisions; revision++)
                {
                    server.Create(KubeObjects.HelmReleaseSecret(Release(), $"team-{i % 4}", $"app-{i:000}", revision, revision == Revisions ? "deployed" : "superseded"));
                }
            }
        }, portal => portal.With("Helm:Enabled", "true"));

        var releases = (await cluster.Store.AllAsync()).Where(w => w.Kind == WorkloadKind.HelmRelease).ToList();
        var one = releases.Single(r => r.Id == "team-1/app-001");
        var lists = cluster.Server.Requests
            .Where(r => r.Method == "GET" && r.Path.StartsWith("/api/v1/secrets?", StringComparison.Ordinal) && !r.Path.Contains("watch=true", StringComparison.Ordinal))
            .ToList();

        Assert.Equal(Releases, releases.Count);
        Assert.All(releases, r => Assert.True(r.IsTracked, $"{r.Id}: {string.Join("; ", r.Errors)}"));
        Assert.Equal((3, "deployed", "app", "1.4.0"), (one.Release!.Revision, one.Release.Status, one.Release.Chart, one.Release.ChartVersion));
        Assert.Equal([(3, "deployed"), (2, "superseded"), (1, "superseded")], one.Release.History.Select(h => (h.Revision, h.Status)));
        Assert.Equal(("registry.example/team/app", "1.0.0"), (one.Containers[0].Repository, one.Containers[0].Tag));
        // Read a page at a time: no response holds every revision's payload.
        Assert.True(lists.Count >= 4, $"{lists.Count} list requests");
        Assert.All(lists, r => Assert.Contains("limit=100", r.Path, StringComparison.Ordinal));
        Assert.Contains(lists, r => r.Path.Contains("continue=", StringComparison.Ordinal));
    }
}

using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Helm;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

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

    [Fact]
    public async Task A_release_in_the_middle_of_an_upgrade_stays_listed_at_the_revision_it_runs_and_an_apply_waits_for_the_upgrade()
    {
        const string Id = "shop/app";
        await using var cluster = await ClusterPortal.StartAsync(
            server => server.Create(KubeObjects.HelmReleaseSecret(Release(), "shop", "app", 1, "deployed")),
            portal => portal.With("Helm:Enabled", "true").With("Helm:BinaryPath", HelmTool.Path));
        await cluster.StoredAsync(Id, s => s is { IsTracked: true });

        // Someone else's helm upgrade: revision 2 written pending, and at its end revision 1 marked superseded a moment
        // before revision 2 is marked deployed.
        cluster.Server.Create(KubeObjects.HelmReleaseSecret(Release(), "shop", "app", 2, "pending-upgrade"));
        cluster.Server.Modify("Secret", "shop", "sh.helm.release.v1.app.v1", o => o["metadata"]!["labels"]!["status"] = "superseded");
        var during = await cluster.StoredAsync(Id, s => s?.Release?.History is [{ Status: "pending-upgrade" }, { Status: "superseded" }]);
        var busy = await cluster.Portal.Services.GetRequiredService<HelmApplier>().ApplyAsync(
            new ApplyRequest(Id, [new ImageUpdate("image.repository", "registry.example/team/app:1.1.0")], "1.0.0", "1.1.0"), CancellationToken.None);

        // Still listed and tracked at the revision it runs; the apply is tried again later instead of failing.
        Assert.Equal((true, 1, "1.0.0"), (during!.IsTracked, during.Release!.Revision, during.Containers[0].Tag));
        Assert.Equal(ApplyOutcome.Busy, busy.Outcome);
        Assert.Equal("another Helm operation on shop/app is in progress (revision 2 is pending-upgrade)", busy.Reason);
        Assert.True(cluster.Catalog.Snapshot(Id) is { IsTracked: true }, "the catalog kept the release");

        cluster.Server.Modify("Secret", "shop", "sh.helm.release.v1.app.v2", o => o["metadata"]!["labels"]!["status"] = "deployed");
        var after = await cluster.StoredAsync(Id, s => s?.Release?.Revision == 2);
        Assert.Equal([(2, "deployed"), (1, "superseded")], after!.Release!.History.Select(h => (h.Revision, h.Status)));
    }
}

using KeelPortal.Tests.TestSupport;
using KeelPortal.Tests.TestSupport.Kube;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Workloads;

/// <summary>The workloads grid is searched, sorted and paged in the database.</summary>
[Collection(AppHosts.Name)]
public sealed class WorkloadGridTests
{
    [Fact]
    public async Task Search_sort_and_paging_happen_in_the_query()
    {
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            for (var i = 0; i < 30; i++)
            {
                server.Create(KubeObjects.Workload("Deployment", i % 2 == 0 ? "red" : "blue", $"svc-{i:00}",
                    annotations: new Dictionary<string, string> { ["keel.sh/policy"] = i < 10 ? "minor" : "patch" },
                    containers: [("app", i == 7 ? "ghcr.io/acme/special_app:1.0.0" : $"acme/app{i}:1.0.0")]));
            }
        });
        var grid = cluster.Portal.Services.GetRequiredService<WorkloadGrid>();

        var first = await grid.QueryAsync(new WorkloadQuery(PageSize: 25));
        var second = await grid.QueryAsync(new WorkloadQuery(PageSize: 25, Page: 1));
        var byNamespace = await grid.QueryAsync(new WorkloadQuery(SortBy: "namespace", Descending: true, PageSize: 1));
        var searchImage = await grid.QueryAsync(new WorkloadQuery(Search: "SPECIAL_app"));
        var searchPolicy = await grid.QueryAsync(new WorkloadQuery(Search: "minor", PageSize: 100));
        var likeIsLiteral = await grid.QueryAsync(new WorkloadQuery(Search: "%"));

        Assert.Equal((30, 25, 5), (first.Total, first.Rows.Count, second.Rows.Count));
        Assert.Equal("svc-00", first.Rows[0].Name);
        Assert.Equal("red", byNamespace.Rows[0].Namespace);
        Assert.Equal(["deployment/blue/svc-07"], searchImage.Rows.Select(r => r.Id));
        Assert.Equal("1.0.0", searchImage.Rows[0].Tags);
        Assert.Equal(10, searchPolicy.Total);
        Assert.Equal(0, likeIsLiteral.Total);
    }
}

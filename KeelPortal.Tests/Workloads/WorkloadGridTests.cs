using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
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

    [Fact]
    public async Task The_status_of_every_row_is_right_when_a_view_reads_hundreds_of_workloads_at_once()
    {
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            for (var i = 0; i < 230; i++)
            {
                server.Create(KubeObjects.Workload("Deployment", "fleet", $"svc-{i:000}",
                    annotations: new Dictionary<string, string> { ["keel.sh/policy"] = i == 3 ? "never" : "minor" },
                    containers: [("app", $"registry.example.com/fleet/svc-{i:000}:1.0.0")]));
            }
        });
        var book = cluster.Portal.Services.GetRequiredService<KeelPortal.Approvals.ApprovalBook>();
        await book.ProposeAsync(new KeelPortal.Approvals.Proposal("deployment/fleet/svc-007", "registry.example.com/fleet/svc-007", "1.0.0", "1.1.0", null,
            [new ImageUpdate("app", "registry.example.com/fleet/svc-007:1.1.0")], 2, TimeSpan.FromHours(1), "eligible"), _ => false);
        var board = cluster.Portal.Services.GetRequiredService<KeelPortal.Updates.WorkloadBoard>();

        var counts = await board.CountsAsync();
        var waiting = await board.QueryAsync(new WorkloadQuery(), KeelPortal.Updates.WorkloadStatus.WaitingForApproval);
        var bySeverity = await board.QueryAsync(new WorkloadQuery(SortBy: "status", PageSize: 3));

        Assert.Equal((1, 1, 228), (counts[KeelPortal.Updates.WorkloadStatus.WaitingForApproval], counts[KeelPortal.Updates.WorkloadStatus.Paused],
            counts[KeelPortal.Updates.WorkloadStatus.NotChecked]));
        Assert.Equal(["svc-007"], waiting.Rows.Select(r => r.Workload.Name));
        Assert.Equal(("0 of 2", "1.1.0"), (waiting.Rows[0].Detail, waiting.Rows[0].Candidate));
        Assert.Equal(KeelPortal.Updates.WorkloadStatus.WaitingForApproval, bySeverity.Rows[0].Status);
        Assert.Equal(230, bySeverity.Total);
    }
}

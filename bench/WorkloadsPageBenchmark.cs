using System.Diagnostics;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Bench;

/// <summary>
/// The Workloads page over N workloads: the server time of the grid's first page, of a filtered page, of the status
/// board (a page, a status filter over every row, the overview's counts), and of the whole server-rendered page over HTTP.
/// </summary>
public static class WorkloadsPageBenchmark
{
    public static async Task<int> RunAsync(int workloads, int runs = 100)
    {
        await using var server = await KubeApiServer.StartAsync();
        for (var i = 0; i < workloads; i++)
        {
            var ns = $"team-{i / 10:000}";
            server.Create(KubeObjects.Workload("Deployment", ns, $"svc-{i:00000}",
                annotations: new Dictionary<string, string> { ["keel.sh/policy"] = i % 3 == 0 ? "minor" : "patch", ["keel.sh/trigger"] = "poll" },
                containers: [("app", $"registry.example.com/{ns}/svc-{i:00000}:1.{i % 7}.0")]));
        }
        await using var portal = new PortalFactory().With("Workloads:Server", server.Url);
        _ = portal.Services;
        await portal.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromMinutes(2));
        var grid = portal.Services.GetRequiredService<WorkloadGrid>();
        using var client = await portal.SignedInClientAsync();
        Console.WriteLine($"{await portal.Services.GetRequiredService<WorkloadStore>().CountAsync()} workloads in the database");

        Percentiles.Report("grid: first page (25 rows, sorted by name, total counted)", await TimeAsync(runs, () => grid.QueryAsync(new WorkloadQuery())), "0.0");
        Percentiles.Report("grid: filter 'team-042' (sorted by namespace)", await TimeAsync(runs, () => grid.QueryAsync(new WorkloadQuery("team-042", "namespace"))), "0.0");
        Percentiles.Report("grid: page 100 sorted by policy, descending", await TimeAsync(runs, () => grid.QueryAsync(new WorkloadQuery(SortBy: "policy", Descending: true, Page: 100))), "0.0");
        var board = portal.Services.GetRequiredService<KeelPortal.Updates.WorkloadBoard>();
        Percentiles.Report("board: first page with each row's status", await TimeAsync(runs, () => board.QueryAsync(new WorkloadQuery())), "0.0");
        Percentiles.Report("board: filter by status 'not checked' (every row's status computed)",
            await TimeAsync(runs, () => board.QueryAsync(new WorkloadQuery(), KeelPortal.Updates.WorkloadStatus.NotChecked)), "0.0");
        Percentiles.Report("board: the overview's counts per status", await TimeAsync(runs, () => board.CountsAsync()), "0.0");
        Percentiles.Report("GET /workloads (server-rendered page over HTTP)", await TimeAsync(runs / 2, async () => (await client.GetAsync("/workloads")).EnsureSuccessStatusCode()), "0.0");
        return 0;
    }

    private static async Task<List<double>> TimeAsync<T>(int runs, Func<Task<T>> action)
    {
        await action();
        var samples = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await action();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return samples;
    }
}

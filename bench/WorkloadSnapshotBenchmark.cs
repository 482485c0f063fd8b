using System.Diagnostics;
using System.Globalization;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Bench;

/// <summary>
/// Serves N tracked Deployments (each with a running pod) in N/10 namespaces from the in-process API server, starts the
/// portal as its own process against it, and reports the time to the first full snapshot in the database and the
/// portal process's peak memory. Then counts the API requests of one apply in an in-process portal.
/// </summary>
public static class WorkloadSnapshotBenchmark
{
    /// <param name="workloads">How many Deployments (each with one pod).</param>
    /// <param name="full">
    /// Objects shaped as a real cluster serves them (<see cref="KubeObjects.Applied"/>, <see cref="KubeObjects.FullPod"/>:
    /// kubectl's last-applied copy, managed fields, environment, probes, volumes, conditions) instead of minimal ones.
    /// </param>
    public static async Task<int> RunAsync(int workloads, bool full = false)
    {
        await using var server = await KubeApiServer.StartAsync();
        server.Create(KubeObjects.Node("node-a"));
        for (var i = 0; i < workloads; i++)
        {
            var ns = $"team-{i / 10:000}";
            var name = $"svc-{i:00000}";
            var image = $"registry.example.com/{ns}/{name}:1.{i % 7}.0";
            var imageId = $"registry.example.com/{ns}/{name}@sha256:{i:x64}";
            var workload = KubeObjects.Workload("Deployment", ns, name,
                annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll" },
                containers: [("app", image), ("sidecar", "envoyproxy/envoy:v1.30.1")]);
            server.Create(full ? KubeObjects.Applied(workload) : workload);
            server.Create(full ? KubeObjects.FullPod(ns, name + "-0", name, "node-a", "app", image, imageId) : KubeObjects.Pod(ns, name + "-0", name, "node-a", ("app", image, imageId)));
        }
        Console.WriteLine($"{workloads} Deployments and {workloads} pods ({(full ? "full-sized" : "minimal")}) in {(workloads + 9) / 10} namespaces at {server.Url}");

        var (snapshotTime, readyTime, peakMb) = await MeasurePortalProcessAsync(server, workloads);
        Console.WriteLine($"portal process: ready after {readyTime.TotalSeconds:0.00} s, first full snapshot after {snapshotTime.TotalSeconds:0.00} s, peak memory (VmHWM) {peakMb:0} MB");

        await using var portal = new PortalFactory().With("Workloads:Server", server.Url);
        _ = portal.Services;
        await portal.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromMinutes(2));
        server.ClearRequests();
        var result = await portal.Services.GetRequiredService<WorkloadApplier>().ApplyAsync(new ApplyRequest(
            "deployment/team-000/svc-00000", [new ImageUpdate("app", "registry.example.com/team-000/svc-00000:1.1.0")], "1.0.0", "1.1.0"));
        var requests = server.Requests.Where(r => !r.Path.Contains("watch=true", StringComparison.Ordinal)).ToList();
        Console.WriteLine($"one apply: {result.Outcome}, {requests.Count} API request(s): {string.Join(", ", requests.Select(r => r.Method))}");
        return result.Outcome == ApplyOutcome.Applied ? 0 : 1;
    }

    internal static async Task<(TimeSpan Snapshot, TimeSpan Ready, double PeakMb)> MeasurePortalProcessAsync(
        KubeApiServer server, int workloads, IReadOnlyDictionary<string, string>? settings = null)
    {
        var data = Directory.CreateTempSubdirectory("keelportal-bench-").FullName;
        // BENCH_PORTAL_DIR: a published portal (the container image's ReadyToRun build, see docs/install.md) instead of this build's.
        var published = Environment.GetEnvironmentVariable("BENCH_PORTAL_DIR");
        var portalDll = Path.Combine(string.IsNullOrEmpty(published) ? AppContext.BaseDirectory : Path.GetFullPath(published), "KeelPortal.dll");
        if (!File.Exists(portalDll))
        {
            throw new InvalidOperationException($"BENCH_PORTAL_DIR has no KeelPortal.dll: {portalDll}");
        }
        var start = new ProcessStartInfo("dotnet", [portalDll, "--contentRoot", string.IsNullOrEmpty(published) ? RepoPaths.Root : Path.GetFullPath(published)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = Loopback.AnyPort,
                ["Data__ConnectionString"] = $"Data Source={Path.Combine(data, "portal.db")}",
                ["Data__KeysPath"] = Path.Combine(data, "keys"),
                ["Jobs__StoragePath"] = Path.Combine(data, "hangfire.db"),
                ["Workloads__Server"] = server.Url,
            },
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var ready = new TaskCompletionSource<TimeSpan>();
        var snapshot = new TaskCompletionSource<TimeSpan>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("KeelPortal is ready", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult(clock.Elapsed);
            }
            if (e.Data?.Contains("First snapshot of the cluster written", StringComparison.Ordinal) == true)
            {
                snapshot.TrySetResult(clock.Elapsed);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var snapshotTime = await snapshot.Task.WaitAsync(TimeSpan.FromMinutes(2));
            var readyTime = await ready.Task.WaitAsync(TimeSpan.FromSeconds(10));
            var peak = PeakMegabytes(process.Id);
            if (Environment.GetEnvironmentVariable("BENCH_MEMORY_DETAIL") == "1")
            {
                // Where the resident memory is at that moment: anonymous (heaps) or file-backed (mapped code).
                Console.WriteLine(string.Join(", ", File.ReadLines($"/proc/{process.Id}/status")
                    .Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal) || l.StartsWith("VmRSS:", StringComparison.Ordinal) || l.StartsWith("Rss", StringComparison.Ordinal))
                    .Select(l => string.Join(' ', l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)))));
            }
            return (snapshotTime, readyTime, peak);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>The process's high-water resident set size from <c>/proc/&lt;pid&gt;/status</c>.</summary>
    private static double PeakMegabytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return kb / 1024.0;
    }
}

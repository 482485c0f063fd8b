using System.Diagnostics;
using KeelPortal.Helm;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Bench;

/// <summary>
/// N Helm releases in Helm's storage on the in-process API server: one installed by the real helm, the others copies of
/// its stored release under other names (each with its revisions as Helm keeps them: by default a superseded and a deployed one). The
/// portal runs as its own process with Helm tracking off and on: the difference in time to the first snapshot and in
/// peak memory is what discovering the releases costs. Then one apply through helm, split into helm's own run time and
/// the portal's work around it.
/// </summary>
public static class HelmReleasesBenchmark
{
    /// <param name="releases">How many releases.</param>
    /// <param name="revisions">Revisions kept per release (Helm keeps up to ten by default): all superseded but the last, deployed.</param>
    public static async Task<int> RunAsync(int releases, int revisions = 2)
    {
        await using var server = await KubeApiServer.StartAsync();
        server.AutoRollout = true;
        var folder = Directory.CreateTempSubdirectory("keelportal-bench-helm-").FullName;
        try
        {
            var kubeconfig = server.WriteKubeconfig(folder);
            await HelmTool.RunAsync(kubeconfig, "install", "app-0", HelmTool.Chart("app"), "-n", "bench", "--set-string", "image.tag=1.2.0");
            var template = server.Store.List(KubeResources.ByKind("Secret"), "bench", _ => true, 0, 10).Items.Single();
            var release = HelmReleaseCodec.Decode(System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(template["data"]!["release"]!.GetValue<string>())));
            for (var i = 1; i < releases; i++)
            {
                var ns = $"team-{i / 10:000}";
                for (var revision = 1; revision <= revisions; revision++)
                {
                    server.Create(KubeObjects.HelmReleaseSecret(release, ns, $"app-{i}", revision, revision == revisions ? "deployed" : "superseded"));
                }
            }
            Console.WriteLine($"{releases} Helm releases ({revisions * (releases - 1) + 1} release Secrets) at {server.Url}");

            var off = await WorkloadSnapshotBenchmark.MeasurePortalProcessAsync(server, 0);
            var on = await WorkloadSnapshotBenchmark.MeasurePortalProcessAsync(server, 0, new Dictionary<string, string> { ["Helm__Enabled"] = "true" });
            Console.WriteLine($"Helm tracking off: first snapshot after {off.Snapshot.TotalSeconds:0.00} s, peak memory {off.PeakMb:0} MB");
            Console.WriteLine($"Helm tracking on:  first snapshot after {on.Snapshot.TotalSeconds:0.00} s, peak memory {on.PeakMb:0} MB");
            Console.WriteLine($"discovery of {releases} releases adds {(on.Snapshot - off.Snapshot).TotalSeconds:0.00} s and {on.PeakMb - off.PeakMb:0} MB");

            await using var portal = new PortalFactory().With("Workloads:Server", server.Url).With("Helm:Enabled", "true").With("Helm:BinaryPath", HelmTool.Path);
            _ = portal.Services;
            await portal.Services.GetRequiredService<WorkloadWatcher>().FirstSnapshot.WaitAsync(TimeSpan.FromMinutes(2));
            var tracked = portal.Services.GetRequiredService<WorkloadCatalog>().Snapshot("bench/app-0");
            Console.WriteLine($"bench/app-0 tracked: {tracked?.IsTracked}, {tracked?.Containers.Count} image(s)");
            var clock = Stopwatch.StartNew();
            var result = await portal.Services.GetRequiredService<HelmApplier>().ApplyAsync(new ApplyRequest(
                "bench/app-0", [new ImageUpdate("image.repository", "registry.example/team/app:1.3.0")], "1.2.0", "1.3.0"), CancellationToken.None);
            var total = clock.Elapsed;
            var helmLine = portal.Logs.Lines.Select(l => l.Message).LastOrDefault(m => m.Contains("helm ran", StringComparison.Ordinal)) ?? "";
            var helmMs = double.TryParse(helmLine.Split("helm ran ").LastOrDefault()?.Split(' ')[0], out var ms) ? ms : double.NaN;
            Console.WriteLine($"one apply: {result.Outcome} ({result.Reason}); {total.TotalMilliseconds:0} ms in all, helm upgrade {helmMs:0} ms, the portal's own work {total.TotalMilliseconds - helmMs:0} ms");
            return result.Outcome == ApplyOutcome.Applied ? 0 : 1;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

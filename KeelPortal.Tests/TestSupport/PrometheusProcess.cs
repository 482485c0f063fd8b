using System.Diagnostics;
using System.Text.Json.Nodes;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Debian's <c>prometheus</c>, a real scraper: started on a loopback port (a port already taken is retried with
/// another) with a throwaway storage folder, scraping one target every second; queried through its HTTP API.
/// </summary>
public sealed class PrometheusProcess : IAsyncDisposable
{
    private static readonly string[] Binaries = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"];

    private readonly Process process;
    private readonly string folder;
    private readonly HttpClient http;

    private PrometheusProcess(Process process, string folder, int port)
    {
        this.process = process;
        this.folder = folder;
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    public static async Task<PrometheusProcess> StartAsync(Uri target)
    {
        var binary = Binaries.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("prometheus is not installed: run ./test.sh as root, which installs Debian's prometheus package");
        for (var attempt = 0; ; attempt++)
        {
            var folder = Directory.CreateTempSubdirectory("keelportal-prometheus-").FullName;
            var config = Path.Combine(folder, "prometheus.yml");
            await File.WriteAllTextAsync(config, $"""
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: keelportal
                    metrics_path: /metrics
                    static_configs:
                      - targets: ["{target.Authority}"]
                """);
            var port = Random.Shared.Next(20000, 60000);
            var start = new ProcessStartInfo(binary, [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(folder, "data")}",
                $"--web.listen-address=127.0.0.1:{port}"]) { RedirectStandardError = true, RedirectStandardOutput = true };
            var process = Process.Start(start)!;
            var ready = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data?.Contains("Server is ready to receive web requests", StringComparison.Ordinal) == true)
                {
                    ready.TrySetResult(true);
                }
                else if (e.Data?.Contains("address already in use", StringComparison.Ordinal) == true)
                {
                    ready.TrySetResult(false);
                }
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var exited = process.WaitForExitAsync().ContinueWith(_ => false, TaskScheduler.Default);
            if (await (await Task.WhenAny(ready.Task, exited)).WaitAsync(TimeSpan.FromSeconds(30)))
            {
                return new PrometheusProcess(process, folder, port);
            }
            process.Kill(entireProcessTree: true);
            process.Dispose();
            Directory.Delete(folder, recursive: true);
            if (attempt >= 5)
            {
                throw new InvalidOperationException("prometheus did not start");
            }
        }
    }

    /// <summary>The value of an instant query's first result, or null when the query has none yet.</summary>
    public async Task<double?> QueryAsync(string query)
    {
        var answer = JsonNode.Parse(await http.GetStringAsync($"api/v1/query?query={Uri.EscapeDataString(query)}"))!;
        var results = answer["data"]?["result"]?.AsArray();
        return results is { Count: > 0 } ? double.Parse(results[0]!["value"]![1]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The scrape target's health as Prometheus sees it (<c>up</c>, <c>down</c>, <c>unknown</c>) and its last error.</summary>
    public async Task<string> TargetAsync()
    {
        var answer = JsonNode.Parse(await http.GetStringAsync("api/v1/targets"))!;
        var target = answer["data"]?["activeTargets"]?.AsArray().FirstOrDefault();
        return $"{target?["health"]} {target?["lastError"]}";
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
        Directory.Delete(folder, recursive: true);
    }
}

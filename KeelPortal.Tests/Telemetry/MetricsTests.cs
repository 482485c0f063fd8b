using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Telemetry;

/// <summary>A real Prometheus scrapes the portal's /metrics through a pipeline run and answers queries about it.</summary>
[Collection(AppHosts.Name)]
public sealed class MetricsTests
{
    [Fact]
    public async Task Prometheus_scrapes_the_apply_counter_the_pending_gauge_and_the_latency_histograms()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var prometheus = await PrometheusProcess.StartAsync(pipeline.Url);
        var repository = pipeline.Repository("team/metrics");
        await pipeline.Pusher.PushAsync("team/metrics", "1.0.0");
        var approvals = new Dictionary<string, string> { ["keel.sh/approvals"] = "1" };
        pipeline.Deploy("metrics", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "all" }, approvals);
        pipeline.Deploy("waiting", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "all" }, approvals);
        await pipeline.TrackedAsync("deployment/shop/metrics");
        await pipeline.TrackedAsync("deployment/shop/waiting");
        await pipeline.Pusher.PushAsync("team/metrics", "1.1.0");
        using var webhook = pipeline.WebhookClient();
        (await webhook.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.1.0" })).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync("deployment/shop/metrics:1.1.0", a => a.State == ApprovalState.Pending);
        await pipeline.ApprovalAsync("deployment/shop/waiting:1.1.0", a => a.State == ApprovalState.Pending);
        (await pipeline.VoteAsync("alice", "deployment/shop/metrics:1.1.0")).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync("deployment/shop/metrics:1.1.0", a => a.State == ApprovalState.Applied);
        pipeline.Deploy("polled", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "patch", ["keel.sh/trigger"] = "poll" });
        await pipeline.TrackedAsync("deployment/shop/polled");
        await pipeline.PollNowAsync(repository);

        var queries = new Dictionary<string, Func<double, bool>>
        {
            ["sum(keelportal_applies_total{outcome=\"Applied\"})"] = v => v >= 1,
            ["max(keelportal_approvals_pending)"] = v => v >= 1,
            ["max(pending_approvals)"] = v => v >= 1,
            ["sum(keelportal_vote_to_patch_duration_seconds_count)"] = v => v >= 1,
            ["sum(keelportal_webhook_to_approval_duration_seconds_count)"] = v => v >= 1,
            ["sum(native_webhook_requests_total)"] = v => v >= 1,
            ["sum(kubernetes_versioned_updates_total)"] = v => v >= 1,
            ["sum(keelportal_registry_requests_total)"] = v => v >= 1,
            ["sum(keelportal_poll_duration_seconds_count)"] = v => v >= 1,
            ["sum(registries_scanned_total)"] = v => v >= 1,
        };
        var seen = new Dictionary<string, double?>();
        await Eventually.TrueAsync(async () =>
        {
            foreach (var query in queries.Keys)
            {
                seen[query] = await prometheus.QueryAsync(query);
            }
            return queries.All(q => seen[q.Key] is { } value && q.Value(value));
        }, TimeSpan.FromSeconds(30), $"Prometheus answers every query (target {await prometheus.TargetAsync()})");

        // The Grafana dashboard's queries are valid PromQL over metrics the portal exports.
        var dashboard = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "grafana-dashboard.json")))!;
        using var scraper = new HttpClient { BaseAddress = pipeline.Url };
        var exported = await scraper.GetStringAsync("metrics");
        foreach (var target in dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()))
        {
            var expr = target!["expr"]!.GetValue<string>();
            await prometheus.QueryAsync(expr.Replace("$__rate_interval", "1m", StringComparison.Ordinal));
            var metric = System.Text.RegularExpressions.Regex.Match(expr, @"keelportal_[a-z_]+?(?=_bucket|\b)").Value;
            Assert.True(exported.Contains(metric, StringComparison.Ordinal) || metric is "keelportal_registry_ratelimit_remaining" or "keelportal_notification_deliveries_total" or "keelportal_jobs_queue_depth",
                $"the dashboard queries {metric}, which /metrics does not export");
        }
    }
}

[Collection(AppHosts.Name)]
public sealed class MetricsPortTests
{
    [Fact]
    public async Task Metrics_are_served_without_sign_in()
    {
        await using var portal = new PortalFactory();
        using var client = portal.CreateClient();
        using var metrics = await client.GetAsync("/metrics");
        Assert.Equal(System.Net.HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_Metrics_Port_they_are_served_on_that_port_only()
    {
        await using var portal = new PortalFactory().With("Metrics:Port", "9464");
        using var console = portal.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://localhost:8080") });
        using var metricsPort = portal.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://localhost:9464") });
        using var onConsole = await console.GetAsync("/metrics");
        using var onPort = await metricsPort.GetAsync("/metrics");
        Assert.NotEqual(System.Net.HttpStatusCode.OK, onConsole.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, onPort.StatusCode);
    }
}

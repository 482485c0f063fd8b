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
        var metricsPort = MetricsPortTests.FreePort();
        await using var pipeline = await PipelinePortal.StartAsync(notifications: true, metricsPort: metricsPort);
        var metricsUrl = new Uri($"http://127.0.0.1:{metricsPort}/");
        // Scraped through the metrics port, as the chart has Prometheus do; the console's port does not serve them to it.
        await using var prometheus = await PrometheusProcess.StartAsync(metricsUrl);
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
        // Keel's unversioned update: force with matchTag follows a tag's new digest.
        var edge = pipeline.Repository("team/edge");
        await pipeline.Pusher.PushAsync("team/edge", "latest", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "1" }));
        pipeline.Deploy("edge", $"{edge}:latest", new Dictionary<string, string> { ["keel.sh/policy"] = "force", ["keel.sh/matchTag"] = "true", ["keel.sh/trigger"] = "poll" });
        await pipeline.TrackedAsync("deployment/shop/edge");
        await pipeline.Pusher.PushAsync("team/edge", "latest", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "2" }));
        await pipeline.PollNowAsync(edge);
        await pipeline.ApprovalAsync("deployment/shop/edge:latest", a => a.State == ApprovalState.Applied);
        using (var github = new HttpRequestMessage(HttpMethod.Post, "v1/webhooks/github"))
        {
            github.Headers.Add("X-GitHub-Event", "package");
            github.Content = JsonContent.Create(new { action = "published", package = new { @namespace = "team", name = "gh", ecosystem = "CONTAINER", package_type = "CONTAINER", package_version = new { container_metadata = new { tag = new { name = "1.0.0" } } } } });
            (await webhook.SendAsync(github)).EnsureSuccessStatusCode();
        }

        // Keel's series, by Keel's names and labels, as a Keel dashboard queries them.
        var keel = new Dictionary<string, Func<double, bool>>
        {
            [$"sum(native_webhook_requests_total{{image=\"{repository}\"}})"] = v => v >= 1,
            ["sum(Github_webhook_requests_total{image=\"ghcr.io/team/gh\"})"] = v => v >= 1,
            [$"sum(registry_notification_requests_total{{image=\"{repository}\"}})"] = v => v >= 1,
            ["sum(kubernetes_versioned_updates_total{kubernetes=\"shop/metrics\"})"] = v => v >= 1,
            ["sum(kubernetes_unversioned_updates_total{kubernetes=\"shop/edge\"})"] = v => v >= 1,
            [$"sum(registries_scanned_total{{registry=\"{pipeline.Registry.Host}\",image=\"{repository}\"}})"] = v => v >= 1,
            ["max(poll_trigger_tracked_images)"] = v => v >= 1,
            ["max(pending_approvals)"] = v => v >= 1,
        };
        var queries = new Dictionary<string, Func<double, bool>>(keel)
        {
            ["sum(keelportal_applies_total{outcome=\"Applied\"})"] = v => v >= 1,
            ["max(keelportal_approvals_pending)"] = v => v >= 1,
            ["sum(keelportal_vote_to_patch_duration_seconds_count)"] = v => v >= 1,
            ["sum(keelportal_webhook_to_approval_duration_seconds_count)"] = v => v >= 1,
            ["sum(keelportal_registry_requests_total)"] = v => v >= 1,
            ["sum(keelportal_poll_duration_seconds_count)"] = v => v >= 1,
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
        using var scraper = new HttpClient { BaseAddress = metricsUrl };
        var exported = await scraper.GetStringAsync("metrics");
        // Outbound calls are counted without their servers: not the API server's, the registry's or anyone's address.
        Assert.DoesNotContain("server_address", exported, StringComparison.Ordinal);
        Assert.DoesNotContain("server_port", exported, StringComparison.Ordinal);
        Assert.DoesNotContain(new Uri(pipeline.Cluster.Url).Authority, exported, StringComparison.Ordinal);
        using (var console = new HttpClient { BaseAddress = pipeline.Url })
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await console.GetAsync("metrics")).StatusCode);
        }
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
    /// <summary>A loopback port free a moment ago (Metrics:Port must be a number known before the portal starts).</summary>
    public static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Metrics_tell_outsiders_nothing_on_the_console_port_and_are_served_on_the_metrics_port_to_an_admin_or_with_the_metrics_token()
    {
        var metricsPort = FreePort();
        await using var portal = new PortalFactory().With("Metrics:Port", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("Metrics:Token", "scrape-token-0123456789");
        portal.UseKestrel(o =>
        {
            o.Listen(System.Net.IPAddress.Loopback, 0);
            o.Listen(System.Net.IPAddress.Loopback, metricsPort);
        });
        portal.StartServer();
        await portal.EnsureUserAsync("root", KeelPortal.Access.Roles.Admin);
        await portal.EnsureUserAsync("victor", KeelPortal.Access.Roles.Viewer);
        var consoleUrl = Loopback.Address(portal.Services);
        Assert.DoesNotContain($":{metricsPort}", consoleUrl, StringComparison.Ordinal);

        async Task<(System.Net.HttpStatusCode Status, string Body)> ScrapeAsync(string baseUrl, string? authorization = null, string? host = null)
        {
            using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(baseUrl) };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }
            if (host is not null)
            {
                request.Headers.Host = host;
            }
            using var response = await client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        static string Basic(string user) => "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{SignIn.Password}"));

        var anonymous = await ScrapeAsync(consoleUrl);
        var forgedHost = await ScrapeAsync(consoleUrl, host: $"localhost:{metricsPort}");
        var viewer = await ScrapeAsync(consoleUrl, Basic("victor"));
        var wrongToken = await ScrapeAsync(consoleUrl, "Bearer scrape-token-0123456788");
        var admin = await ScrapeAsync(consoleUrl, Basic("root"));
        var token = await ScrapeAsync(consoleUrl, "Bearer scrape-token-0123456789");
        var port = await ScrapeAsync($"http://127.0.0.1:{metricsPort}");

        foreach (var (refused, what) in new[] { (anonymous, "anonymous"), (forgedHost, "a forged Host header"), (viewer, "a viewer"), (wrongToken, "a wrong token") })
        {
            Assert.True(refused.Status is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden, $"{what}: {refused.Status}");
            Assert.DoesNotContain("# TYPE", refused.Body, StringComparison.Ordinal);
        }
        foreach (var (served, what) in new[] { (admin, "an administrator"), (token, "the metrics token"), (port, "the metrics port") })
        {
            Assert.True(served.Status == System.Net.HttpStatusCode.OK, $"{what}: {served.Status}");
            Assert.Contains("# TYPE", served.Body, StringComparison.Ordinal);
        }
    }
}

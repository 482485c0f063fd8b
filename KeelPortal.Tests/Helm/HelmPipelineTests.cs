using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;

namespace KeelPortal.Tests.Helm;

/// <summary>
/// Helm releases through the whole pipeline on real parts: releases installed by the real helm into the Kubernetes
/// API test server, images in the real registry, the portal discovering them from Helm's storage and upgrading them
/// with helm.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class HelmPipelineTests : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("keelportal-helm-pipeline-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(folder, recursive: true);
        return Task.CompletedTask;
    }

    private static Task<PipelinePortal> StartAsync(string? binary = null) => PipelinePortal.StartAsync(configure: p => p
        .With("Helm:Enabled", "true")
        .With("Helm:BinaryPath", binary ?? HelmTool.Path)
        .With("Helm:LocalChartFolder", Path.GetDirectoryName(HelmTool.Chart("umbrella"))!), chartValues: ["helmProvider.enabled=true"]);

    private async Task<string> HelmAsync(PipelinePortal pipeline, params string[] args) =>
        await HelmTool.RunAsync(pipeline.Cluster.WriteKubeconfig(folder), args);

    [Fact]
    public async Task A_release_is_discovered_proposed_voted_and_upgraded_through_helm_and_its_rollout_followed()
    {
        await using var pipeline = await StartAsync();
        var repository = pipeline.Repository("team/app");
        await pipeline.Pusher.PushAsync("team/app", "1.2.0");
        await HelmAsync(pipeline, "install", "app", HelmTool.Chart("app"), "-n", "shop",
            "--set-string", $"image.repository={repository}", "--set-string", "image.tag=1.2.0");

        var release = await pipeline.TrackedAsync("shop/app");
        Assert.Equal(WorkloadKind.HelmRelease, release.Kind);
        Assert.True(release.IsTracked, string.Join("; ", release.Errors));
        Assert.Equal(("app", "0.1.0", 1, "secret"), (release.Release!.Chart, release.Release.ChartVersion, release.Release.Revision, KeelPortal.Data.Modes.Name(release.Release.Driver)));
        Assert.Equal(2, release.ApprovalsRequired);
        Assert.Equal($"{repository}:1.2.0", Assert.Single(release.Containers).Image);

        await pipeline.Pusher.PushAsync("team/app", "1.3.0");
        await pipeline.Pusher.PushAsync("team/app", "2.0.0");
        await pipeline.PollNowAsync(repository);
        var pending = await pipeline.ApprovalAsync("shop/app:1.3.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(("1.2.0", 2), (pending.CurrentVersion, pending.VotesRequired));
        using var alice = pipeline.ApiClient("alice");
        var listed = JsonNode.Parse(await alice.GetStringAsync("v1/approvals"))!.AsArray().Single(a => a!["identifier"]!.GetValue<string>() == "shop/app:1.3.0")!;
        Assert.Equal("helm", listed["provider"]!.GetValue<string>());

        // Keel's helm3_versioned_updates_total{chart="<ns>/<release>"} counts the upgrade.
        var meter = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<KeelPortal.Telemetry.PortalMetrics>(pipeline.Portal.Services).Meter;
        var counted = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.Name.StartsWith("helm3_", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                counted.Add($"{instrument.Name}{{{tag.Key}={tag.Value}}} {value}");
            }
        });
        listener.Start();
        (await pipeline.VoteAsync("alice", "shop/app:1.3.0")).EnsureSuccessStatusCode();
        (await pipeline.VoteAsync("bob", "shop/app:1.3.0")).EnsureSuccessStatusCode();
        var applied = await pipeline.ApprovalAsync("shop/app:1.3.0", a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(60));
        Assert.Equal(["helm3_versioned_updates{chart=shop/app} 1"], counted);

        var history = JsonNode.Parse(await HelmAsync(pipeline, "history", "app", "-n", "shop", "-o", "json"))!.AsArray();
        Assert.Equal([1, 2], history.Select(r => r!["revision"]!.GetValue<int>()));
        Assert.Equal("deployed", history[1]!["status"]!.GetValue<string>());
        var values = JsonNode.Parse(await HelmAsync(pipeline, "get", "values", "app", "-n", "shop", "-o", "json"))!;
        Assert.Equal(("1.3.0", repository), (values["image"]!["tag"]!.GetValue<string>(), values["image"]!["repository"]!.GetValue<string>()));
        Assert.Equal($"{repository}:1.3.0", pipeline.ImageOf("app"));
        Assert.Contains("revision 1 -> 2", applied.Reason, StringComparison.Ordinal);
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync("shop/app")).Contains("rollout.succeeded"),
            TimeSpan.FromSeconds(30), "the rollout of the release's Deployment followed");
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync("shop/app"))?.Release?.Revision == 2, TimeSpan.FromSeconds(15), "revision 2 seen");

        // The console lists the release with its chart and shows its page: revision history, candidates, update.
        using var console = new HttpClient(new HttpClientHandler { CookieContainer = new(), AllowAutoRedirect = false }) { BaseAddress = pipeline.Url };
        using (var signedIn = await SignIn.PostSignInAsync(console, "root", SignIn.Password))
        {
            Assert.Equal(System.Net.HttpStatusCode.Redirect, signedIn.StatusCode);
        }
        var grid = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<WorkloadGrid>(pipeline.Portal.Services)
            .QueryAsync(new WorkloadQuery("app", "name", false, 0, 25));
        var row = Assert.Single(grid.Rows, r => r.Id == "shop/app");
        Assert.Equal(("Helm release (app-0.1.0)", "/releases/shop/app"), (row.KindText, row.Page));
        using var pageResponse = await console.GetAsync("releases/shop/app");
        Assert.True(pageResponse.IsSuccessStatusCode, string.Join("\n", pipeline.Portal.Logs.Lines.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(l => l.Message)));
        var page = await pageResponse.Content.ReadAsStringAsync();
        Assert.Contains("Revision 2 (deployed) of chart app-0.1.0", System.Net.WebUtility.HtmlDecode(page), StringComparison.Ordinal);
        Assert.Contains("superseded", page, StringComparison.Ordinal);
        Assert.Contains("image.repository", page, StringComparison.Ordinal);
        Assert.Contains("Settings live in the release&#x27;s values", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configmap_release_with_repo_and_tag_in_one_value_gets_its_digest_path_set()
    {
        await using var pipeline = await StartAsync();
        var repository = pipeline.Repository("team/api");
        await pipeline.Pusher.PushAsync("team/api", "1.0.0");
        var kubeconfig = pipeline.Cluster.WriteKubeconfig(folder);
        var configmap = new Dictionary<string, string> { ["HELM_DRIVER"] = "configmap" };
        var installed = await HelmTool.RunRawAsync(kubeconfig, configmap, "install", "api", HelmTool.Chart("combined"), "-n", "shop",
            "--set-string", $"image={repository}:1.0.0");
        Assert.True(installed.ExitCode == 0, installed.Error);

        var release = await pipeline.TrackedAsync("shop/api");
        Assert.Equal(KeelPortal.Workloads.HelmDriver.ConfigMap, release.Release!.Driver);
        Assert.True(release.IsTracked, string.Join("; ", release.Errors));
        var digest = await pipeline.Pusher.PushAsync("team/api", "1.1.0");
        await pipeline.PollNowAsync(repository);
        await pipeline.ApprovalAsync("shop/api:1.1.0", a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(60));

        var values = JsonNode.Parse((await HelmTool.RunRawAsync(kubeconfig, configmap, "get", "values", "api", "-n", "shop", "-o", "json")).Output)!;
        Assert.Equal($"{repository}:1.1.0", values["image"]!.GetValue<string>());
        Assert.Equal(digest, values["imageDigest"]!.GetValue<string>());
        Assert.Equal($"{repository}:1.1.0@{digest}", pipeline.ImageOf("api"));
    }

    [Fact]
    public async Task An_umbrella_chart_is_refused_with_what_to_set_then_upgraded_through_its_chart_reference_keeping_its_subchart()
    {
        await using var pipeline = await StartAsync();
        var repository = pipeline.Repository("team/web");
        await pipeline.Pusher.PushAsync("team/web", "1.0.0");
        await HelmAsync(pipeline, "install", "suite", HelmTool.Chart("umbrella"), "-n", "shop", "--set-string", $"image.repository={repository}");
        var release = await pipeline.TrackedAsync("shop/suite");
        Assert.Equal(["worker"], release.Release!.Dependencies);

        await pipeline.Pusher.PushAsync("team/web", "1.1.0");
        await pipeline.PollNowAsync(repository);
        var refused = await pipeline.ApprovalAsync("shop/suite:1.1.0", a => a.State == ApprovalState.Failed, TimeSpan.FromSeconds(60));
        Assert.Contains("subcharts (worker)", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("keel.chart", refused.Reason, StringComparison.Ordinal);
        Assert.Single(JsonNode.Parse(await HelmAsync(pipeline, "history", "suite", "-n", "shop", "-o", "json"))!.AsArray());

        // The team names the chart to upgrade with (here the chart folder; oci:// and repository charts work alike).
        await HelmAsync(pipeline, "upgrade", "suite", HelmTool.Chart("umbrella"), "-n", "shop", "--reuse-values", "--set-string", $"keel.chart={HelmTool.Chart("umbrella")}");
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync("shop/suite"))?.Release?.ChartReference is not null, TimeSpan.FromSeconds(15), "the reference seen");
        await pipeline.Pusher.PushAsync("team/web", "1.2.0");
        await pipeline.PollNowAsync(repository);
        await pipeline.ApprovalAsync("shop/suite:1.2.0", a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(60));

        Assert.Equal($"{repository}:1.2.0", pipeline.ImageOf("suite-web"));
        Assert.Equal("registry.example/team/worker:2.0.0", pipeline.ImageOf("suite-worker"));
        Assert.Equal(3, JsonNode.Parse(await HelmAsync(pipeline, "history", "suite", "-n", "shop", "-o", "json"))!.AsArray().Count);
    }

    [Fact]
    public async Task Without_helm_releases_are_shown_and_an_update_fails_saying_what_to_set()
    {
        await using var pipeline = await StartAsync(binary: "/nonexistent/helm");
        var repository = pipeline.Repository("team/app");
        await pipeline.Pusher.PushAsync("team/app", "1.2.0");
        await HelmAsync(pipeline, "install", "app", HelmTool.Chart("app"), "-n", "shop",
            "--set-string", $"image.repository={repository}", "--set-string", "image.tag=1.2.0", "--set", "keel.approvals=0");
        Assert.True((await pipeline.TrackedAsync("shop/app")).IsTracked);

        await pipeline.Pusher.PushAsync("team/app", "1.2.1");
        await pipeline.PollNowAsync(repository);
        var failed = await pipeline.ApprovalAsync("shop/app:1.2.1", a => a.State == ApprovalState.Failed, TimeSpan.FromSeconds(60));

        Assert.StartsWith("helm is not installed: set Helm:BinaryPath", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_upgrade_is_a_failed_apply_with_helms_message_and_a_broken_block_is_shown_with_its_reason()
    {
        await using var pipeline = await StartAsync();
        var repository = pipeline.Repository("team/app");
        await pipeline.Pusher.PushAsync("team/app", "1.2.0");
        await HelmAsync(pipeline, "install", "app", HelmTool.Chart("app"), "-n", "shop",
            "--set-string", $"image.repository={repository}", "--set-string", "image.tag=1.2.0", "--set", "keel.approvals=0");
        await HelmAsync(pipeline, "install", "broken", HelmTool.Chart("app"), "-n", "shop",
            "--set-string", $"image.repository={repository}", "--set-string", "keel.approvals=two", "--set-string", "keel.images[0].tag=no such path");
        await pipeline.TrackedAsync("shop/app");

        await pipeline.Pusher.PushAsync("team/app", "1.9.9");
        await pipeline.PollNowAsync(repository);
        var failed = await pipeline.ApprovalAsync("shop/app:1.9.9", a => a.State == ApprovalState.Failed, TimeSpan.FromSeconds(60));
        var broken = await pipeline.TrackedAsync("shop/broken");

        Assert.Contains("this chart refuses image tag 1.9.9", failed.Reason, StringComparison.Ordinal);
        Assert.Equal("deployed", JsonNode.Parse(await HelmAsync(pipeline, "history", "app", "-n", "shop", "-o", "json"))!.AsArray().Single()!["status"]!.GetValue<string>());
        Assert.False(broken.IsTracked);
        Assert.Contains(broken.Errors, e => e.StartsWith("keel.approvals: 'two'", StringComparison.Ordinal));
        Assert.Contains(broken.Errors, e => e.StartsWith("keel.images[0].tag: 'no such path'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_subchart_in_the_charts_folder_without_a_dependencies_entry_makes_an_umbrella_that_is_not_upgraded_with_the_stored_chart()
    {
        await using var pipeline = await StartAsync();
        var repository = pipeline.Repository("team/nest");
        await pipeline.Pusher.PushAsync("team/nest", "1.0.0");
        await HelmAsync(pipeline, "install", "nest", HelmTool.Chart("nested"), "-n", "shop", "--set-string", $"image.repository={repository}",
            "--set", "keel.approvals=0");
        var release = await pipeline.TrackedAsync("shop/nest");
        Assert.Equal(["worker"], release.Release!.Dependencies);

        await pipeline.Pusher.PushAsync("team/nest", "1.1.0");
        await pipeline.PollNowAsync(repository);
        var refused = await pipeline.ApprovalAsync("shop/nest:1.1.0", a => a.State == ApprovalState.Failed, TimeSpan.FromSeconds(60));

        Assert.Contains("subcharts (worker)", refused.Reason, StringComparison.Ordinal);
        Assert.Single(JsonNode.Parse(await HelmAsync(pipeline, "history", "nest", "-n", "shop", "-o", "json"))!.AsArray());
        Assert.Equal("registry.example/team/worker:2.0.0", pipeline.ImageOf("nest-worker"));
    }

    [Fact]
    public async Task A_chart_reference_that_could_be_a_flag_or_names_an_unlisted_source_never_reaches_helm_and_a_failed_version_waits_for_a_retry()
    {
        await using var pipeline = await StartAsync();
        using var bait = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        bait.Start();
        var baitUrl = $"http://127.0.0.1:{((System.Net.IPEndPoint)bait.LocalEndpoint).Port}";
        var repository = pipeline.Repository("team/flag");
        await pipeline.Pusher.PushAsync("team/flag", "1.0.0");
        await HelmAsync(pipeline, "install", "flag", HelmTool.Chart("app"), "-n", "shop", "--set-string", $"image.repository={repository}",
            "--set-string", "image.tag=1.0.0", "--set", "keel.approvals=0", "--set-string", "keel.chart=--help");
        await HelmAsync(pipeline, "install", "fetch", HelmTool.Chart("app"), "-n", "shop", "--set-string", $"image.repository={repository}",
            "--set-string", "image.tag=1.0.0", "--set", "keel.approvals=0", "--set-string", "keel.chart=app",
            "--set-string", $"keel.chartRepository={baitUrl}");
        var flag = await pipeline.TrackedAsync("shop/flag");
        await pipeline.TrackedAsync("shop/fetch");

        Assert.False(flag.IsTracked);
        Assert.Contains(flag.Errors, e => e.StartsWith("keel.chart: '--help' is not a chart reference", StringComparison.Ordinal));

        await pipeline.Pusher.PushAsync("team/flag", "1.1.0");
        await pipeline.PollNowAsync(repository);
        var refused = await pipeline.ApprovalAsync("shop/fetch:1.1.0", a => a.State == ApprovalState.Failed, TimeSpan.FromSeconds(60));
        Assert.Contains($"the chart source {baitUrl} is not in Helm:AllowedChartSources", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("loopback", refused.Reason, StringComparison.Ordinal);
        Assert.Null(await pipeline.Approvals.FindAsync("shop/flag:1.1.0"));

        // The next poll does not propose the failed version again; the workload shows why.
        await pipeline.PollNowAsync(repository);
        var checks = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<KeelPortal.Updates.WorkloadChecks>(pipeline.Portal.Services);
        await Eventually.TrueAsync(async () => (await checks.ForWorkloadAsync("shop/fetch")).Any(c => c.Error?.Contains("waits for a retry", StringComparison.Ordinal) == true),
            TimeSpan.FromSeconds(30), "the failure shown on the release");
        Assert.Single((await pipeline.Approvals.ForWorkloadAsync("shop/fetch")));

        // A person's retry tries it again (and it fails again the same way, nothing fetched).
        using var alice = pipeline.ApiClient("alice");
        (await alice.PostAsJsonAsync("v1/approvals", new { identifier = "shop/fetch:1.1.0", action = "retry" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync("shop/fetch:1.1.0")).Count(a => a == "apply.failed") == 2,
            TimeSpan.FromSeconds(30), "the retry failed again");
        Assert.Contains("apply.retried", await pipeline.AuditActionsAsync("shop/fetch:1.1.0"));
        Assert.False(bait.Pending(), "helm was given the unlisted chart source and connected to it");
        Assert.Single(JsonNode.Parse(await HelmAsync(pipeline, "history", "fetch", "-n", "shop", "-o", "json"))!.AsArray());
    }

    [Fact]
    public async Task An_upgrade_after_which_no_new_revision_is_deployed_is_a_failed_update_and_is_not_proposed_again_at_the_next_poll()
    {
        // A helm that says it succeeded and does nothing (as "--help" once did): exit 0, no new revision.
        var fake = Path.Combine(folder, "helm-that-does-nothing");
        await File.WriteAllTextAsync(fake, "#!/bin/sh\necho 'Release \"app\" has been upgraded. Happy Helming!'\nexit 0\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        }
        await using var pipeline = await StartAsync(binary: fake);
        var repository = pipeline.Repository("team/still");
        await pipeline.Pusher.PushAsync("team/still", "1.0.0");
        await HelmAsync(pipeline, "install", "still", HelmTool.Chart("app"), "-n", "shop", "--set-string", $"image.repository={repository}",
            "--set-string", "image.tag=1.0.0", "--set", "keel.approvals=0");
        await pipeline.TrackedAsync("shop/still");

        await pipeline.Pusher.PushAsync("team/still", "1.1.0");
        await pipeline.PollNowAsync(repository);
        var failed = await pipeline.ApprovalAsync("shop/still:1.1.0", a => a.State == ApprovalState.Failed, TimeSpan.FromSeconds(60));
        await pipeline.PollNowAsync(repository);
        var checks = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<KeelPortal.Updates.WorkloadChecks>(pipeline.Portal.Services);
        await Eventually.TrueAsync(async () => (await checks.ForWorkloadAsync("shop/still")).Any(c => c.Error?.Contains("waits for a retry", StringComparison.Ordinal) == true),
            TimeSpan.FromSeconds(30), "the failure shown on the release after the next poll");

        Assert.Contains("ended without deploying a new revision (still 1)", failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("apply.succeeded", await pipeline.AuditActionsAsync("shop/still"));
        Assert.Single(await pipeline.Approvals.ForWorkloadAsync("shop/still"));
    }
}

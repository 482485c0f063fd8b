using System.Net;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Console;

/// <summary>The Workloads page lists the untracked workloads too, and an administrator starts tracking one from its page.</summary>
[Collection(AppHosts.Name)]
public sealed class UntrackedWorkloadsTests
{
    private static async Task<HttpClient> SignedInAsync(PipelinePortal pipeline, string user)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new(), AllowAutoRedirect = false }) { BaseAddress = pipeline.Url };
        using var signedIn = await SignIn.PostSignInAsync(client, user, SignIn.Password);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        return client;
    }

    [Fact]
    public async Task The_untracked_filter_lists_workloads_without_keel_keys_and_an_administrator_starts_tracking_one_from_its_page()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        pipeline.Deploy("tracked", pipeline.Repository("team/tracked") + ":1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "minor" });
        pipeline.Deploy("plain", pipeline.Repository("team/plain") + ":2.0.0", new Dictionary<string, string>());
        await pipeline.TrackedAsync("deployment/shop/tracked");
        await Eventually.TrueAsync(() => Task.FromResult(pipeline.Portal.Services.GetRequiredService<WorkloadCatalog>().Find("deployment/shop/plain") is not null),
            TimeSpan.FromSeconds(15), "the untracked deployment seen");
        using var root = await SignedInAsync(pipeline, "root");
        using var victor = await SignedInAsync(pipeline, "victor");

        var list = WebUtility.HtmlDecode(await root.GetStringAsync("workloads?untracked=1"));
        var tracked = WebUtility.HtmlDecode(await root.GetStringAsync("workloads"));
        var adminPage = WebUtility.HtmlDecode(await root.GetStringAsync("workloads/deployment/shop/plain"));
        var viewerPage = WebUtility.HtmlDecode(await victor.GetStringAsync("workloads/deployment/shop/plain"));

        Assert.Contains("href=\"/workloads/deployment/shop/plain\"", list, StringComparison.Ordinal);
        Assert.DoesNotContain("/workloads/deployment/shop/tracked\"", list, StringComparison.Ordinal);
        Assert.Contains("1 untracked workload", list, StringComparison.Ordinal);
        Assert.Contains("href=\"/workloads?untracked=1\"", tracked, StringComparison.Ordinal);
        Assert.Contains("deployment/shop/plain is not tracked", adminPage, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"settings-form\"", adminPage, StringComparison.Ordinal);
        Assert.Contains("An administrator can start tracking it here", viewerPage, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"settings-form\"", viewerPage, StringComparison.Ordinal);

        // The form's plan for it (what saving writes) starts tracking: Keel's keys, audited as the administrator.
        var plain = pipeline.Portal.Services.GetRequiredService<WorkloadCatalog>().Find("deployment/shop/plain")!;
        var plan = SettingsChanges.Plan(plain, SettingsDraft.Of(plain) with { Policy = "patch" });
        Assert.Empty(plan.Errors);
        Assert.Equal([new KeyChange("keel.sh/policy", null, "patch")], plan.Changes);
        var saved = await pipeline.Portal.Services.GetRequiredService<WorkloadSettingsEditor>().SetAsync("deployment/shop/plain", plan.Keys, "root");
        Assert.Equal(ApplyOutcome.Applied, saved.Outcome);
        var nowTracked = await pipeline.TrackedAsync("deployment/shop/plain");
        Assert.True(nowTracked.IsTracked);
        Assert.DoesNotContain("/workloads/deployment/shop/plain\"", WebUtility.HtmlDecode(await root.GetStringAsync("workloads?untracked=1")), StringComparison.Ordinal);
    }
}

using Deque.AxeCore.Playwright;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Tests.Workloads;
using Microsoft.Playwright;

namespace KeelPortal.Tests.Console;

/// <summary>
/// A failed rollout explained on its workload page in Chromium: the events and container states read from the cluster
/// when asked (or at once, from the link of a rollback proposal), at a desk's and a phone's width, accessible.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class WhyBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task The_workload_page_says_why_its_rollout_fails_without_kubectl(int width, int height)
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Workloads:PodLogs", "true"), chartValues: ["diagnostics.podLogs=true"]);
        FailingRollout.Seed(pipeline.Cluster);
        await pipeline.TrackedAsync("deployment/shop/web");
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "alice", width: width, height: height);

        await page.GotoAsync("/workloads/deployment/shop/web");
        await BrowserFixture.InteractiveAsync(page);
        await page.Locator("[data-testid=why-read]").ClickAsync();

        var crashing = page.Locator("[data-testid=why-containers] tr", new() { HasText = "web-a" });
        await Assertions.Expect(crashing.Locator("[data-testid=why-state]")).ToContainTextAsync("waiting: CrashLoopBackOff");
        await Assertions.Expect(crashing.Locator("[data-testid=why-last]")).ToHaveTextAsync("OOMKilled (exit code 137)");
        await Assertions.Expect(page.Locator("[data-testid=why-containers] tr", new() { HasText = "web-b" })).ToContainTextAsync("ImagePullBackOff");
        await Assertions.Expect(page.Locator("[data-testid=why-events] tbody tr").First).ToContainTextAsync("ProgressDeadlineExceeded");
        await Assertions.Expect(page.Locator("[data-testid=why-events]")).ToContainTextAsync("Failed to pull image");
        await Assertions.Expect(page.Locator("[data-testid=why-log]")).ToContainTextAsync("fatal: out of memory allocating cache");
        await Assertions.Expect(page.Locator("[data-testid=why-read-at]")).ToContainTextAsync("read from the cluster");
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
            "the page is wider than the screen");
        var serious = (await page.RunAxe()).Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id}: {v.Help} at {string.Join(" | ", v.Nodes.Take(4).Select(n => n.Target.ToString()))}");
        Assert.True(!serious.Any(), string.Join("\n", serious));
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.Screenshots, $"workload-why-{width}.png"), FullPage = true });
    }

    [Fact]
    public async Task Opened_from_a_rollback_proposal_the_page_reads_why_at_once()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        FailingRollout.Seed(pipeline.Cluster);
        await pipeline.TrackedAsync("deployment/shop/web");
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "alice");

        await page.GotoAsync("/workloads/deployment/shop/web?why=1#why");

        await Assertions.Expect(page.Locator("[data-testid=why-events] tbody tr").First).ToContainTextAsync("ProgressDeadlineExceeded");
        // Logs are off by default: the page says so instead of showing any.
        Assert.Equal(0, await page.Locator("[data-testid=why-log]").CountAsync());
        await Assertions.Expect(page.Locator("[data-testid=why-panel]")).ToContainTextAsync("Logs are not read");
    }
}

using System.Net.Http.Json;
using KeelPortal.Access;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace KeelPortal.Tests.Console;

/// <summary>Real flows in Chromium against the portal on a real port, with the registry and the Kubernetes API test server.</summary>
[Collection(AppHosts.Name)]
public sealed class BrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public async Task Two_approvers_see_the_approval_arrive_live_vote_and_watch_it_applied()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        var repository = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3");
        pipeline.Deploy("shop", $"{repository}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "2")));
        await pipeline.TrackedAsync("deployment/shop/shop");

        var alice = await session.SignedInPageAsync(pipeline.Url, "alice");
        var bob = await session.SignedInPageAsync(pipeline.Url, "bob");
        var victor = await session.SignedInPageAsync(pipeline.Url, "victor");
        foreach (var page in new[] { alice, bob, victor })
        {
            await page.GotoAsync("/approvals");
            await BrowserFixture.InteractiveAsync(page);
        }

        await pipeline.Pusher.PushAsync("team/shop", "1.3.0");
        using (var webhook = pipeline.WebhookClient())
        {
            (await webhook.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.3.0" })).EnsureSuccessStatusCode();
        }
        var card = "[data-testid=pending-approval][data-identifier='deployment/shop/shop:1.3.0']";
        await alice.Locator(card).WaitForAsync();
        await bob.Locator(card).WaitForAsync();
        await victor.Locator(card).WaitForAsync();

        await alice.Locator($"{card} [data-testid=approve]").ClickAsync();
        await Assertions.Expect(bob.Locator($"{card} [data-testid=votes]")).ToContainTextAsync("1 of 2 votes: alice");
        Assert.Equal(0, await victor.Locator($"{card} [data-testid=approve]").CountAsync());
        await bob.Locator($"{card} [data-testid=approve]").ClickAsync();

        await Assertions.Expect(alice.Locator(card)).ToHaveCountAsync(0);
        await alice.GetByRole(AriaRole.Tab, new() { Name = "History" }).ClickAsync();
        await Assertions.Expect(alice.Locator("[data-testid=history] tr", new() { HasText = "1.3.0" }).Locator("[data-testid=history-state]")).ToHaveTextAsync("Applied, rolled out");
        Assert.Equal(1, pipeline.PatchesOf("shop"));
        Assert.Equal($"{repository}:1.3.0", pipeline.ImageOf("shop"));
        var approval = await pipeline.Approvals.FindAsync("deployment/shop/shop:1.3.0");
        Assert.Equal(["alice", "bob"], approval!.Votes.OrderBy(v => v.CastAtUtc).Select(v => v.Voter));
    }

    [Fact]
    public async Task An_approver_rolls_back_from_the_workload_page_votes_and_sees_the_workload_held()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        var repository = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        await pipeline.Pusher.PushAsync("team/shop", "1.1.0");
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/shop");
        await pipeline.Portal.Services.GetRequiredService<KeelPortal.Updates.UpdatePlanner>().PollAsync(repository);
        await pipeline.ApprovalAsync("deployment/shop/shop:1.1.0", a => a.State == KeelPortal.Approvals.ApprovalState.Pending);
        (await pipeline.VoteAsync("bob", "deployment/shop/shop:1.1.0")).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync("deployment/shop/shop:1.1.0", a => a.State == KeelPortal.Approvals.ApprovalState.Applied);
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync("deployment/shop/shop"))!.Containers[0].Tag == "1.1.0", TimeSpan.FromSeconds(10), "1.1.0 runs");
        var page = await session.SignedInPageAsync(pipeline.Url, "alice");

        await page.GotoAsync("/workloads/deployment/shop/shop");
        await BrowserFixture.InteractiveAsync(page);
        await page.Locator("[data-testid=rollback-reason] input, input[data-testid=rollback-reason]").FillAsync("1.1.0 breaks the checkout");
        await page.Locator("[data-testid=rollback][data-version='1.0.0']").ClickAsync();

        var card = page.Locator("[data-testid=pending-approval]");
        await Assertions.Expect(card.Locator("[data-testid=approval-rollback]")).ToHaveTextAsync("rollback, asked by alice");
        await card.Locator("[data-testid=approve]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=hold-status]")).ToContainTextAsync("rolled back from 1.1.0 to 1.0.0 by alice", new() { Timeout = 15_000 });
        Assert.Equal($"{repository}:1.0.0", pipeline.ImageOf("shop"));
    }

    [Fact]
    public async Task Sign_in_with_a_wrong_password_is_refused_and_sign_out_ends_the_session()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();

        var wrong = await session.SignedInPageAsync(pipeline.Url, "alice", "not-the-password");
        await Assertions.Expect(wrong.Locator("[data-testid=signin-error]")).ToContainTextAsync("Wrong user name or password");

        var alice = await session.SignedInPageAsync(pipeline.Url, "alice");
        await Assertions.Expect(alice.Locator("[data-testid=signed-in-user]")).ToHaveTextAsync("alice");
        await alice.Locator("[data-testid=signout]").ClickAsync();
        await Assertions.Expect(alice.Locator("[data-testid=signed-out]")).ToBeVisibleAsync();
        await alice.GotoAsync("/approvals");
        Assert.Contains("/signin", alice.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_adding_a_person_the_role_picker_starts_again_from_viewer()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "root");
        await page.GotoAsync("/users");
        await BrowserFixture.InteractiveAsync(page);

        await page.GetByLabel("User name").FillAsync("dora");
        await page.GetByLabel("Password (12 characters or more)").FillAsync("a-long-enough-password");
        await page.Locator(".mud-select", new() { HasText = "Role" }).Last.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = Roles.Approver }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await Eventually.TrueAsync(async () => await pipeline.Portal.Services.GetRequiredService<AccountService>().CurrentRoleAsync("dora") == Roles.Approver,
            TimeSpan.FromSeconds(10), "dora added as an approver");
        // The form is cleared when the page has re-rendered after the add; typing before that would be wiped.
        await Assertions.Expect(page.Locator("tr", new() { HasText = "dora" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByLabel("User name")).ToHaveValueAsync("");
        await page.GetByLabel("User name").FillAsync("eli");
        await page.GetByLabel("Password (12 characters or more)").FillAsync("another-long-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();

        await Eventually.TrueAsync(async () => await pipeline.Portal.Services.GetRequiredService<AccountService>().CurrentRoleAsync("eli") is not null,
            TimeSpan.FromSeconds(10), "eli added");
        Assert.Equal(Roles.Viewer, await pipeline.Portal.Services.GetRequiredService<AccountService>().CurrentRoleAsync("eli"));
    }

    [Fact]
    public async Task The_workload_page_says_why_versions_were_not_picked_and_an_admin_changes_the_policy()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        await pipeline.Portal.EnsureUserAsync("root", Roles.Admin);
        var repository = pipeline.Repository("team/why");
        foreach (var tag in new[] { "1.2.3", "1.2.4", "2.0.0", "1.3.0-rc.1" })
        {
            await pipeline.Pusher.PushAsync("team/why", tag);
        }
        await pipeline.Pusher.PushAsync("team/why", "1.2.5", new TestImage("linux/arm64"));
        pipeline.Deploy("why", $"{repository}:1.2.3", Keel(("keel.sh/policy", "patch")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/why");
        var page = await session.SignedInPageAsync(pipeline.Url, "root");

        await page.GotoAsync("/workloads");
        await BrowserFixture.InteractiveAsync(page);
        // Each row's name is a real link: it opens the workload's page (and opens in a new tab with a middle click).
        const string detail = "/workloads/deployment/shop/why";
        var link = page.Locator("[data-testid=workloads-grid] a[data-testid=workload-link]", new() { HasText = "why" });
        await Assertions.Expect(link).ToHaveAttributeAsync("href", detail);
        await link.ClickAsync();
        await page.WaitForURLAsync("**" + detail);
        var candidates = page.Locator("[data-testid=candidates]");
        await Assertions.Expect(candidates.Locator("tr", new() { HasText = "2.0.0" })).ToContainTextAsync("major");
        await Assertions.Expect(candidates.Locator("tr", new() { HasText = "1.2.4" })).ToContainTextAsync("Eligible");
        await Assertions.Expect(candidates.Locator("tr", new() { HasText = "1.2.5" })).ToContainTextAsync("WrongPlatform");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.Screenshots, "workload-detail.png") });

        // An invalid pattern is refused with the message the annotation would get, and nothing is written.
        await BrowserFixture.ChooseAsync(page, "edit-policy", "regexp");
        await page.Locator("[data-testid=edit-pattern]").Locator("xpath=descendant-or-self::input").FillAsync("(unclosed");
        await page.Locator("[data-testid=save-settings]").ClickAsync();
        await Assertions.Expect(page.Locator(".mud-input-control", new() { Has = page.Locator("input[data-testid=edit-pattern]") }))
            .ToContainTextAsync("policy 'regexp:(unclosed' is not a usable regular expression");
        await Assertions.Expect(page.Locator("input[data-testid=edit-pattern]")).ToBeFocusedAsync();
        Assert.Equal("patch", pipeline.Cluster.Get("Deployment", "shop", "why")!["metadata"]!["annotations"]!["keel.sh/policy"]!.GetValue<string>());

        // A valid change shows the keys it writes, before → after, and is written only when confirmed.
        await BrowserFixture.ChooseAsync(page, "edit-policy", "minor");
        await page.Locator("[data-testid=save-settings]").ClickAsync();
        var change = page.Locator("[data-testid=settings-change]");
        await Assertions.Expect(change).ToHaveCountAsync(1);
        await Assertions.Expect(change).ToContainTextAsync("keel.sh/policy");
        await Assertions.Expect(change).ToContainTextAsync("patch");
        await Assertions.Expect(change).ToContainTextAsync("minor");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.Screenshots, "workload-settings-review.png") });
        await page.Locator("[data-testid=confirm-settings]").ClickAsync();
        await Eventually.TrueAsync(() => pipeline.Cluster.Get("Deployment", "shop", "why")!["metadata"]!["annotations"]!["keel.sh/policy"]!.GetValue<string>() == "minor",
            TimeSpan.FromSeconds(15), "the policy written to the workload");
        await Assertions.Expect(page.Locator("[data-testid=detail-policy]")).ToHaveTextAsync("minor");
        // The audit entry is written right after the patch, which the page may show first.
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync("deployment/shop/why")).Contains("workload.settings"),
            TimeSpan.FromSeconds(10), "the settings change audited");
    }

    [Fact]
    public async Task The_candidates_follow_a_skip_and_a_rollout_without_a_reload()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        var repository = pipeline.Repository("team/live");
        foreach (var tag in new[] { "1.2.3", "1.2.4", "1.2.5" })
        {
            await pipeline.Pusher.PushAsync("team/live", tag);
        }
        pipeline.Deploy("live", $"{repository}:1.2.3", Keel(("keel.sh/policy", "patch"), ("keel.sh/trigger", "poll")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/live");
        var page = await session.SignedInPageAsync(pipeline.Url, "alice");
        await page.GotoAsync("/workloads/deployment/shop/live");
        await BrowserFixture.InteractiveAsync(page);
        var candidates = page.Locator("[data-testid=candidates]");
        await Assertions.Expect(candidates.Locator("tr", new() { HasText = "1.2.5" })).ToContainTextAsync("Eligible");

        // Skipped: declined at once, no poll and no reload in between.
        await page.Locator("input[data-testid=skip-version]").FillAsync("1.2.5");
        await page.Locator("input[data-testid=skip-reason]").FillAsync("breaks the cart");
        await page.Locator("[data-testid=skip]").ClickAsync();
        await Assertions.Expect(candidates.Locator("tr", new() { HasText = "1.2.5" })).ToContainTextAsync("Declined");

        // 1.2.4 rolls out (written by someone else): the panel says it runs now and no longer offers it.
        pipeline.Cluster.Modify("Deployment", "shop", "live", d => d["spec"]!["template"]!["spec"]!["containers"]![0]!["image"] = $"{repository}:1.2.4");
        await Assertions.Expect(page.Locator("[data-testid=candidates-summary]", new() { HasText = "team/live" })).ToContainTextAsync("running 1.2.4");
        await Assertions.Expect(candidates.GetByRole(AriaRole.Row, new() { Name = "1.2.4 Current" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Single_sign_on_maps_the_providers_groups_to_a_role_and_refuses_someone_without_one()
    {
        await using var provider = await OidcProvider.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p
            .With("Access:Oidc:Authority", provider.Issuer)
            .With("Access:Oidc:ClientId", OidcProvider.ClientId)
            .With("Access:Oidc:ClientSecret", OidcProvider.ClientSecret)
            .With("Access:Oidc:RequireHttpsMetadata", "false")
            .With("Access:Oidc:DisplayName", "Example SSO")
            .With("Access:Oidc:RoleMap:platform-admins", "Admin")
            .With("Access:Oidc:RoleMap:developers", "Approver"));
        await using var session = browser.Session();

        provider.UserName = "dana";
        provider.Groups = ["developers"];
        var dana = await session.SignInPageAsync(pipeline.Url);
        await dana.Locator("[data-testid=sso]").ClickAsync();
        await Assertions.Expect(dana.Locator("[data-testid=signed-in-user]")).ToHaveTextAsync("dana");

        provider.UserName = "eve";
        provider.Groups = ["contractors"];
        var eve = await session.SignInPageAsync(pipeline.Url);
        await eve.Locator("[data-testid=sso]").ClickAsync();
        await Assertions.Expect(eve.Locator("[data-testid=signin-error]")).ToContainTextAsync("Single sign-on did not work");

        var accounts = await pipeline.Portal.Services.GetRequiredService<AccountService>().ListAsync();
        Assert.Equal(Roles.Approver, accounts.Single(a => a.UserName == "dana").Role);
        Assert.DoesNotContain(accounts, a => a.UserName == "eve");
    }
}

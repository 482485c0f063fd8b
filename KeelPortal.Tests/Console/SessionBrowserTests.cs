using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace KeelPortal.Tests.Console;

/// <summary>An open console follows its account: a demotion removes the vote buttons, a lock ends the session.</summary>
[Collection(AppHosts.Name)]
public sealed class SessionBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task An_approver_demoted_during_an_open_session_loses_the_vote_buttons_and_a_lock_signs_them_out()
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Access:SessionRevalidation", "00:10:00"));
        await using var session = browser.Session();
        var proposal = new Proposal("deployment/shop/web", "registry.example.com/shop/web", "1.0.0", "1.1.0", null,
            [new ImageUpdate("app", "registry.example.com/shop/web:1.1.0")], 2, TimeSpan.FromHours(24), "eligible");
        var created = await pipeline.Approvals.ProposeAsync(proposal, _ => true);
        var accounts = pipeline.Portal.Services.GetRequiredService<AccountService>();
        var card = "[data-testid=pending-approval][data-identifier='deployment/shop/web:1.1.0']";

        var alice = await session.SignedInPageAsync(pipeline.Url, "alice");
        await alice.GotoAsync("/approvals");
        await BrowserFixture.InteractiveAsync(alice);
        await Assertions.Expect(alice.Locator($"{card} [data-testid=approve]")).ToBeVisibleAsync();
        Assert.Equal(0, await alice.Locator($"{card} [data-testid=change-votes]").CountAsync());

        // An administrator changes the votes it needs from the console; everyone's card says so.
        var root = await session.SignedInPageAsync(pipeline.Url, "root");
        await root.GotoAsync("/approvals");
        await BrowserFixture.InteractiveAsync(root);
        await root.Locator($"{card} [data-testid=change-votes]").ClickAsync();
        await root.GetByLabel("Votes required").FillAsync("3");
        await root.Locator("[data-testid=confirm-votes]").ClickAsync();
        await Assertions.Expect(alice.Locator($"{card} [data-testid=votes-changed]")).ToContainTextAsync("Required votes changed from 2 to 3 by root");

        await accounts.SetRoleAsync("alice", Roles.Viewer, "root");
        // No reload: the change reaches the open circuit at once (its periodic re-read, Access:SessionRevalidation, is ten
        // minutes here), which re-reads the account and re-renders.
        await Assertions.Expect(alice.Locator($"{card} [data-testid=approve]")).ToHaveCountAsync(0, new() { Timeout = 15_000 });
        await Assertions.Expect(alice.Locator(card)).ToBeVisibleAsync();

        await accounts.LockAsync("alice", "root");
        await alice.WaitForURLAsync(url => url.Contains("/signin", StringComparison.Ordinal), new() { Timeout = 15_000 });

        Assert.Empty((await pipeline.Approvals.GetAsync(created.ApprovalId!.Value))!.Votes);
        Assert.DoesNotContain(session.ConsoleErrors, e => e.Contains("Content Security Policy", StringComparison.Ordinal));
    }
}

using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace KeelPortal.Tests.Console;

/// <summary>
/// Two Chromium sessions on two portal processes sharing one PostgreSQL database: what one approver does on one replica
/// appears on the other's open page without a reload (the outbox event wakes the other replica by LISTEN/NOTIFY).
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ReplicaBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_vote_cast_on_one_replica_shows_on_the_page_open_on_another()
    {
        await using var fleet = await PortalFleet.StartAsync(replicas: 2);
        await using var session = browser.Session();
        await fleet.DeployAsync("shop", approvals: 2);
        var (first, second) = (fleet.Replicas[0], fleet.Replicas[1]);
        var alice = await session.SignedInPageAsync(first.Url, "alice");
        var bob = await session.SignedInPageAsync(second.Url, "bob");
        foreach (var page in new[] { alice, bob })
        {
            await page.GotoAsync("/approvals");
            await BrowserFixture.InteractiveAsync(page);
        }

        await fleet.Pusher.PushAsync("team/shop", "1.1.0");
        await fleet.WebhookAsync(first, "shop", "1.1.0");
        var card = "[data-testid=pending-approval][data-identifier='deployment/shop/shop:1.1.0']";
        await alice.Locator(card).WaitForAsync();
        await bob.Locator(card).WaitForAsync();

        await alice.Locator($"{card} [data-testid=approve]").ClickAsync();
        var clicked = System.Diagnostics.Stopwatch.StartNew();
        await Assertions.Expect(bob.Locator($"{card} [data-testid=votes]")).ToContainTextAsync("1 of 2 votes: alice");
        output.WriteLine($"alice's vote on {first.Name} showed on bob's page on {second.Name} {clicked.ElapsedMilliseconds} ms after the click");

        await bob.Locator($"{card} [data-testid=approve]").ClickAsync();
        await Assertions.Expect(alice.Locator(card)).ToHaveCountAsync(0);
        var applied = await fleet.ApprovalAsync("shop", a => a.State == ApprovalState.Applied);
        Assert.Equal(["alice", "bob"], applied.Votes.OrderBy(v => v.CastAtUtc).Select(v => v.Voter));
        Assert.Equal(1, fleet.Cluster.CountRequests("PATCH", "/deployments/shop"));
    }
}

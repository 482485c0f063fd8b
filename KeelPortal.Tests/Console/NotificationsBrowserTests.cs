using KeelPortal.Access;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace KeelPortal.Tests.Console;

/// <summary>An administrator sets up a channel in Chromium and sends it a test message; a viewer only looks.</summary>
[Collection(AppHosts.Name)]
public sealed class NotificationsBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task An_admin_adds_a_channel_is_told_what_is_wrong_sends_a_test_message_and_reads_the_log()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        await pipeline.Portal.EnsureUserAsync("root", Roles.Admin);
        var page = await session.SignedInPageAsync(pipeline.Url, "root");
        await page.GotoAsync("/notifications");
        await BrowserFixture.InteractiveAsync(page);
        await Assertions.Expect(page.GetByText("No notification channels")).ToBeVisibleAsync();

        await page.Locator("[data-testid=add-channel]").ClickAsync();
        var dialog = page.Locator(".mud-dialog");
        await dialog.Locator("[data-testid=channel-name]").FillAsync("ops");
        await dialog.Locator(".mud-select").First.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "Mattermost" }).ClickAsync();
        await dialog.Locator("[data-testid=channel-target]").FillAsync("hooks.example.com/no-scheme");
        await dialog.Locator("[data-testid=channel-save]").ClickAsync();
        // The error is beside the field, which has the focus; the line under the form only says how many need a fix.
        await Assertions.Expect(dialog.Locator(".mud-input-control", new() { Has = page.Locator("input[data-testid=channel-target]") }))
            .ToContainTextAsync("The webhook URL must be an absolute http:// or https:// URL");
        await Assertions.Expect(dialog.Locator("input[data-testid=channel-target]")).ToBeFocusedAsync();
        await Assertions.Expect(dialog.Locator("[data-testid=channel-error]")).ToHaveTextAsync("One field needs a fix: see beside it.");

        var url = receiver.Url("hooks/secret-part");
        await dialog.Locator("[data-testid=channel-target]").FillAsync(url.AbsoluteUri);
        await dialog.Locator("[data-testid=channel-username]").FillAsync("deploy-bot");
        await dialog.Locator("[data-testid=channel-save]").ClickAsync();
        await Assertions.Expect(dialog).ToHaveCountAsync(0);
        var row = page.Locator("[data-testid=channels] tr", new() { HasText = "ops" });
        await Assertions.Expect(row).ToContainTextAsync($"{url.Scheme}://{url.Authority}/••••••");
        await Assertions.Expect(row).ToContainTextAsync("Mattermost");
        Assert.DoesNotContain("secret-part", await page.ContentAsync(), StringComparison.Ordinal);
        // Not ticked, so not a default channel: it hears only the workloads that name it.
        var stored = await pipeline.Portal.Services.GetRequiredService<KeelPortal.Notifications.ChannelDirectory>().FindAsync("ops");
        Assert.False(stored!.IsDefault);

        await row.Locator("[data-testid=send-test]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=test-result]")).ToContainTextAsync("delivered. The receiver answered: 200 OK: ok");
        var message = (await receiver.WaitForAsync("hooks/secret-part"))[0].Json;
        Assert.Equal("deploy-bot", message["username"]!.GetValue<string>());
        Assert.Contains("Test message from KeelPortal to channel ops, sent by root.", message["text"]!.GetValue<string>(), StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("[data-testid=delivery-log] [data-testid=delivery-state]").First).ToHaveTextAsync("Delivered");
        await Assertions.Expect(row.Locator("[data-testid=last-delivery]")).ToContainTextAsync("Delivered");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.Screenshots, "notifications-channel.png"), FullPage = true });
        Assert.Contains("notification.channel.add", await pipeline.AuditActionsAsync("channel/ops"));
        Assert.Contains("notification.test", await pipeline.AuditActionsAsync("channel/ops"));

        var viewer = await session.SignedInPageAsync(pipeline.Url, "victor");
        await viewer.GotoAsync("/notifications");
        await BrowserFixture.InteractiveAsync(viewer);
        await Assertions.Expect(viewer.Locator("[data-testid=channels] tr", new() { HasText = "ops" })).ToBeVisibleAsync();
        Assert.Equal(0, await viewer.Locator("[data-testid=add-channel]").CountAsync());
        Assert.Equal(0, await viewer.Locator("[data-testid=send-test]").CountAsync());
    }
}

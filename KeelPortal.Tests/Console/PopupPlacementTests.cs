using KeelPortal.Access;
using KeelPortal.Tests.TestSupport;
using Microsoft.Playwright;

namespace KeelPortal.Tests.Console;

/// <summary>
/// A pop-up message does not lie over a control: after removing a person on Users and saving a channel on
/// Notifications, in Chromium at a desk's width no visible button, link or field shares its place (it sits over the
/// navigation drawer's free lower part); at a phone's width it runs across the foot of the screen and the page keeps
/// room below its last control, so scrolled to the end nothing is under it.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class PopupPlacementTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    // Every visible control the message's box overlaps, by its opening tag.
    private const string Covered = """
        () => {
            const box = e => e.getBoundingClientRect();
            const bars = [...document.querySelectorAll('.mud-snackbar')];
            const controls = [...document.querySelectorAll('button, a[href], input, select, textarea, [role=button], [role=tab], [role=combobox]')]
                .filter(c => !c.closest('.mud-snackbar') && c.getClientRects().length > 0 && getComputedStyle(c).visibility !== 'hidden');
            return bars.flatMap(b => controls.filter(c => {
                const m = box(b), x = box(c);
                return x.width > 0 && x.height > 0 && m.left < x.right && x.left < m.right && m.top < x.bottom && x.top < m.bottom;
            }).map(c => c.outerHTML.slice(0, 160)));
        }
        """;

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task A_message_after_removing_a_person_covers_no_control(int width, int height)
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        foreach (var name in new[] { "dora", "eli", "finn", "gus" })
        {
            await pipeline.Portal.EnsureUserAsync(name, Roles.Viewer);
        }
        var page = await session.SignedInPageAsync(pipeline.Url, "root", width: width, height: height);
        await page.GotoAsync("/users");
        await BrowserFixture.InteractiveAsync(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "Remove eli" }).ClickAsync();
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Yes" }).ClickAsync();
        await Assertions.Expect(page.Locator(".mud-snackbar")).ToContainTextAsync("eli: done");
        await Assertions.Expect(page.Locator(".mud-dialog")).ToHaveCountAsync(0);

        await AtTheEndOnAPhoneAsync(page, width);
        Assert.Empty(await page.EvaluateAsync<string[]>(Covered));
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.Screenshots, $"users-message-{width}.png") });
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task A_message_after_saving_a_channel_covers_no_control(int width, int height)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        await pipeline.Portal.EnsureUserAsync("root", Roles.Admin);
        var page = await session.SignedInPageAsync(pipeline.Url, "root", width: width, height: height);
        await page.GotoAsync("/notifications");
        await BrowserFixture.InteractiveAsync(page);

        await page.Locator("[data-testid=add-channel]").ClickAsync();
        var dialog = page.Locator(".mud-dialog");
        await dialog.Locator("[data-testid=channel-name]").FillAsync("ops");
        await dialog.Locator("[data-testid=channel-target]").FillAsync(receiver.Url("hooks/ops").AbsoluteUri);
        await dialog.Locator("[data-testid=channel-save]").ClickAsync();
        await Assertions.Expect(page.Locator(".mud-snackbar")).ToContainTextAsync("Channel ops saved");
        await Assertions.Expect(dialog).ToHaveCountAsync(0);

        await AtTheEndOnAPhoneAsync(page, width);
        Assert.Empty(await page.EvaluateAsync<string[]>(Covered));
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.Screenshots, $"notifications-message-{width}.png") });
    }

    private static async Task AtTheEndOnAPhoneAsync(IPage page, int width)
    {
        if (width < 960)
        {
            await page.EvaluateAsync("() => window.scrollTo(0, document.documentElement.scrollHeight)");
            await page.WaitForFunctionAsync("() => Math.ceil(window.scrollY + window.innerHeight) >= document.documentElement.scrollHeight - 1");
        }
    }
}

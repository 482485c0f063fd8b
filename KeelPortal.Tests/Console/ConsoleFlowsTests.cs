using Deque.AxeCore.Playwright;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace KeelPortal.Tests.Console;

/// <summary>
/// The console as a platform engineer uses it, in Chromium: every page checked with axe-core and photographed at 1280
/// and 390 px, the overview's tiles opening filtered lists, and an approval decided on the workload page by keyboard.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ConsoleFlowsTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>A portal with a workload waiting for approval, one up to date and one whose settings are broken.</summary>
    private static async Task<PipelinePortal> StartWithWorkloadsAsync()
    {
        var pipeline = await PipelinePortal.StartAsync();
        var shop = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3");
        pipeline.Deploy("checkout-service-with-a-long-name", $"{shop}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "1")));
        pipeline.Deploy("calm", $"{shop}:1.2.3", Keel(("keel.sh/policy", "patch")));
        pipeline.Deploy("broken", $"{shop}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "two")));
        pipeline.Deploy("untracked", $"{shop}:1.2.3", new Dictionary<string, string>());
        foreach (var name in new[] { "checkout-service-with-a-long-name", "calm", "broken" })
        {
            await pipeline.TrackedAsync($"deployment/shop/{name}");
        }
        await pipeline.Pusher.PushAsync("team/shop", "1.3.0");
        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync(shop);
        await pipeline.ApprovalAsync("deployment/shop/checkout-service-with-a-long-name:1.3.0", a => a.State == ApprovalState.Pending);
        return pipeline;
    }

    /// <summary>Every serious or critical axe-core violation of the page, described with the elements it concerns.</summary>
    private static async Task<IReadOnlyList<string>> ViolationsAsync(IPage page, string name)
    {
        var results = await page.RunAxe();
        return results.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{name}: {v.Id} ({v.Impact}): {v.Help} at {string.Join(" | ", v.Nodes.Take(4).Select(n => $"{n.Target} [{string.Join("; ", n.Any.Select(c => c.Message))}]"))}").ToList();
    }

    [Fact]
    public async Task Every_page_passes_axe_core_and_shows_its_key_values_at_1280_and_390_pixels()
    {
        await using var pipeline = await StartWithWorkloadsAsync();
        await using var session = browser.Session();
        var pages = new[]
        {
            ("/", "overview", "Overview"), ("/workloads", "workloads", "Workloads"), ("/approvals", "approvals", "Approvals"),
            ("/workloads/deployment/shop/checkout-service-with-a-long-name", "workload-detail", "checkout-service-with-a-long-name"),
            ("/registries", "registries", "Registries"), ("/notifications", "notifications", "Notifications"),
            ("/audit", "audit", "Audit"), ("/users", "users", "Users"), ("/delivery", "delivery", "Change windows and freezes"),
            ("/workloads?untracked=1", "workloads-untracked", "Workloads"), ("/workloads/deployment/shop/untracked", "untracked-detail", "untracked"),
        };
        var violations = new List<string>();
        foreach (var width in new[] { 1280, 390 })
        {
            var page = await session.SignedInPageAsync(pipeline.Url, "root", width: width, height: width == 390 ? 844 : 900);
            foreach (var (path, name, heading) in pages)
            {
                await page.GotoAsync(path);
                await BrowserFixture.InteractiveAsync(page);
                await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync(heading);
                if (name == "approvals")
                {
                    // The card's details (digest, build time, labels) arrive after the page: measured with them.
                    await Assertions.Expect(page.Locator("[data-testid=approval-diff]").First).ToBeVisibleAsync();
                }
                // No page is wider than the screen: long digests, image names and reasons wrap or are abbreviated.
                var wider = await page.EvaluateAsync<string?>("""
                    () => document.documentElement.scrollWidth <= window.innerWidth ? null
                        : document.documentElement.scrollWidth + ' px: ' + [...document.querySelectorAll('main *')]
                            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.children.length === 0)
                            .slice(0, 4).map(e => e.outerHTML.slice(0, 140)).join(' | ')
                    """);
                Assert.True(wider is null, $"{name} at {width} px is wider than the screen, {wider}");
                violations.AddRange(await ViolationsAsync(page, $"{name} at {width} px"));
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.Screenshots, $"{name}-{width}.png"), FullPage = true });
            }

            // The key values are visible in full: names are not cut off, and nothing runs past the screen's edge.
            await page.GotoAsync("/workloads");
            await BrowserFixture.InteractiveAsync(page);
            await ExpectFullyVisibleAsync(page, page.Locator("[data-testid=workload-link]", new() { HasText = "checkout-service-with-a-long-name" }), width);
            await ExpectFullyVisibleAsync(page, page.Locator("[data-testid=workload-status]", new() { HasText = "waiting for approval" }).First, width);
            if (width == 1280)
            {
                var sideways = await page.Locator("[data-testid=workloads-grid] .mud-table-container").EvaluateAsync<bool>("e => e.scrollWidth > e.clientWidth");
                Assert.False(sideways, "the workloads table scrolls sideways at 1280 px");
            }
            await page.GotoAsync("/approvals");
            await BrowserFixture.InteractiveAsync(page);
            await ExpectFullyVisibleAsync(page, page.Locator("[data-testid=approval-workload]").First, width);
            await ExpectFullyVisibleAsync(page, page.Locator("[data-testid=approve]").First, width);
            await page.GotoAsync("/users");
            await BrowserFixture.InteractiveAsync(page);
            await ExpectFullyVisibleAsync(page, page.Locator("[data-testid=accounts] td", new() { HasText = "alice" }).First, width);
        }
        var signIn = await session.SignInPageAsync(pipeline.Url);
        violations.AddRange(await ViolationsAsync(signIn, "sign-in"));
        Assert.True(violations.Count == 0, string.Join("\n", violations));
        await signIn.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.Screenshots, "signin-1280.png") });
        Assert.Empty(session.ConsoleErrors);
    }

    private static async Task ExpectFullyVisibleAsync(IPage page, ILocator element, int width)
    {
        await Assertions.Expect(element).ToBeVisibleAsync();
        var box = await element.BoundingBoxAsync();
        Assert.NotNull(box);
        Assert.True(box.X >= 0 && box.X + box.Width <= width + 0.5, $"{await element.TextContentAsync()} runs past {width} px ({box.X} + {box.Width})");
        var cut = await element.EvaluateAsync<bool>("e => e.scrollWidth > e.clientWidth + 1");
        Assert.False(cut, $"{await element.TextContentAsync()} is cut off at {width} px");
    }

    [Fact]
    public async Task Typed_or_clicked_before_the_page_is_interactive_is_held_with_a_cue_and_never_wiped_on_workloads_approvals_and_audit()
    {
        await using var pipeline = await StartWithWorkloadsAsync();
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "alice");

        await TypeAtOnceAsync(page, "/workloads", "input[data-testid=workloads-search]", "checkout");
        await Assertions.Expect(page.Locator("[data-testid=workload-link]")).ToHaveTextAsync(["checkout-service-with-a-long-name"]);

        await TypeAtOnceAsync(page, "/audit", "input[data-testid=audit-search]", "approval.created");
        await page.WaitForURLAsync("**/audit?q=approval.created*");

        // A click waits until the page can use it (Playwright's check waits while the field is held), then counts.
        await page.GotoAsync("/approvals", new() { WaitUntil = WaitUntilState.Commit });
        await page.Locator("input[data-testid=select-all]").CheckAsync();
        await BrowserFixture.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("input[data-testid=select-all]")).ToBeCheckedAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Approve 1 selected" })).ToBeEnabledAsync();
    }

    /// <summary>
    /// Types into a field the moment it is on the page (long before the circuit is up, as a quick person does): while
    /// the page is not interactive the field is held (disabled) under the connecting bar, so the keys go nowhere and
    /// nothing appears; whatever did appear is still there once the page is interactive; then typing works.
    /// </summary>
    private static async Task TypeAtOnceAsync(IPage page, string path, string field, string text)
    {
        await page.GotoAsync(path, new() { WaitUntil = WaitUntilState.Commit });
        var input = page.Locator(field);
        await input.WaitForAsync(new() { State = WaitForSelectorState.Attached });
        var state = await page.EvaluateAsync<string>($$"""
            () => [document.querySelector('#portal').dataset.interactive, document.querySelector('{{field}}').closest('fieldset').disabled,
                   !!document.querySelector('[data-testid=connecting]')].join('|')
            """);
        await input.PressSequentiallyAsync(text);
        var shown = await input.InputValueAsync();
        await BrowserFixture.InteractiveAsync(page);

        Assert.True(state.StartsWith("true|", StringComparison.Ordinal) || state == "false|true|true", $"{path}: not interactive yet, yet not held under the bar ({state})");
        await Assertions.Expect(page.Locator("[data-testid=connecting]")).ToHaveCountAsync(0);
        Assert.Equal(shown, await input.InputValueAsync()); // nothing shown is wiped
        if (shown != text)
        {
            await input.FillAsync(text);
        }
        await Assertions.Expect(input).ToHaveValueAsync(text);
    }

    [Fact]
    public async Task A_prerendered_page_holds_its_fields_under_a_connecting_bar_and_the_sign_in_page_does_not()
    {
        await using var portal = new PortalFactory();
        using var client = await portal.SignedInClientAsync("root");
        using var anonymous = portal.CreateClient();

        var workloads = await client.GetStringAsync("/workloads");
        var signIn = await anonymous.GetStringAsync("/signin");

        Assert.Matches("<fieldset class=\"page-fields\" disabled[^>]*>", workloads);
        Assert.Contains("data-testid=\"connecting\"", workloads, StringComparison.Ordinal);
        Assert.Contains("Connecting: the page takes input in a moment", workloads, StringComparison.Ordinal);
        Assert.DoesNotMatch("<fieldset class=\"page-fields\" disabled", signIn);
        Assert.DoesNotContain("data-testid=\"connecting\"", signIn, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Many_approvals_fit_on_one_screen_as_lines_that_expand_in_place_by_keyboard_and_the_choice_is_remembered()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/many");
        await pipeline.Pusher.PushAsync("team/many", "1.0.0");
        var names = Enumerable.Range(1, 6).Select(i => $"svc-{i}").ToList();
        foreach (var name in names)
        {
            pipeline.Deploy(name, $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll")), labels: Keel(("keel.sh/approvals", "1")));
            await pipeline.TrackedAsync($"deployment/shop/{name}");
        }
        await pipeline.Pusher.TagAsync("team/many", "1.0.0", "1.1.0");
        await pipeline.PollNowAsync(repository);
        foreach (var name in names)
        {
            await pipeline.ApprovalAsync($"deployment/shop/{name}:1.1.0", a => a.State == ApprovalState.Pending);
        }
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "alice");
        await page.GotoAsync("/approvals");
        await BrowserFixture.InteractiveAsync(page);

        await page.Locator("[data-testid=approvals-view]").GetByText("One line each").ClickAsync();
        var lines = page.Locator(".approval-line[data-testid=pending-approval]");
        await Assertions.Expect(lines).ToHaveCountAsync(6);
        // All six fit on a 1280 × 800 screen, each one line high.
        foreach (var box in await Task.WhenAll((await lines.AllAsync()).Select(l => l.BoundingBoxAsync())))
        {
            Assert.True(box!.Height < 64 && box.Y + box.Height <= 800, $"a line {box.Height} px high ending at {box.Y + box.Height} px");
        }

        // Expanded in place with the keyboard: the whole card, and back.
        var first = page.Locator("[data-identifier='deployment/shop/svc-1:1.1.0']");
        await first.Locator("[data-testid=expand-approval]").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(first.Locator("[data-testid=approval-diff]")).ToBeVisibleAsync();
        await Assertions.Expect(first.Locator("[data-testid=collapse-approval]")).ToHaveAttributeAsync("aria-expanded", "true");
        await first.Locator("[data-testid=collapse-approval]").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(first.Locator("[data-testid=approval-diff]")).ToHaveCountAsync(0);

        // A line votes like a card.
        await page.Locator("[data-identifier='deployment/shop/svc-2:1.1.0'] [data-testid=approve]").ClickAsync();
        await pipeline.ApprovalAsync("deployment/shop/svc-2:1.1.0", a => a.State != ApprovalState.Pending);

        // Remembered in this browser.
        await page.ReloadAsync();
        await BrowserFixture.InteractiveAsync(page);
        await Assertions.Expect(lines).ToHaveCountAsync(5);
        Assert.Empty(await ViolationsAsync(page, "approvals as lines"));
    }

    [Fact]
    public async Task A_digest_shown_abbreviated_on_a_phone_is_copied_whole()
    {
        await using var pipeline = await StartWithWorkloadsAsync();
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "alice", width: 390, height: 844);
        await page.GotoAsync("/approvals");
        await BrowserFixture.InteractiveAsync(page);
        // What the page hands the clipboard, caught where the browser would take it.
        await page.EvaluateAsync("() => { window.copied = []; navigator.clipboard.writeText = t => { window.copied.push(t); return Promise.resolve(); }; }");

        var digest = page.Locator("[data-identifier] [data-testid=digest]").First;
        await Assertions.Expect(digest).ToBeVisibleAsync();
        var whole = await digest.GetAttributeAsync("data-digest");
        await digest.Locator("[data-testid=copy-digest]").ClickAsync();

        Assert.Matches("^sha256:[0-9a-f]{64}$", whole);
        Assert.EndsWith("…", (await digest.Locator("code").TextContentAsync())!.Trim(), StringComparison.Ordinal);
        await Assertions.Expect(page.Locator(".mud-snackbar")).ToContainTextAsync("Digest copied");
        Assert.Equal([whole!], await page.EvaluateAsync<string[]>("() => window.copied"));
    }

    [Fact]
    public async Task An_overview_tile_opens_the_list_filtered_to_waiting_for_approval_and_back_returns()
    {
        await using var pipeline = await StartWithWorkloadsAsync();
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "victor");
        await page.GotoAsync("/");
        await BrowserFixture.InteractiveAsync(page);

        var tile = page.Locator("[data-testid=tile-waiting-for-approval]");
        await Assertions.Expect(tile).ToContainTextAsync("1");
        await tile.ClickAsync();

        await page.WaitForURLAsync("**/workloads?status=waiting");
        await Assertions.Expect(page.Locator("[data-testid=workload-link]")).ToHaveTextAsync(["checkout-service-with-a-long-name"]);
        await Assertions.Expect(page.Locator("[data-testid=workload-status]")).ToContainTextAsync("waiting for approval (0 of 1)");
        await Assertions.Expect(page.Locator("[data-testid=workload-version]")).ToContainTextAsync("1.2.3 → 1.3.0");

        // The filter is the address: changing it is a new entry, and back returns to the previous list.
        await BrowserFixture.ChooseAsync(page, "filter-status", "settings error");
        await Eventually.TrueAsync(() => Task.FromResult(page.Url.EndsWith("/workloads?status=settings-error", StringComparison.Ordinal)), TimeSpan.FromSeconds(10),
            $"the address names the filter (now {page.Url})");
        await Assertions.Expect(page.Locator("[data-testid=workload-link]")).ToHaveTextAsync(["broken"]);
        await Assertions.Expect(page.Locator("[data-testid=workload-approvals]")).ToHaveTextAsync("two");
        await page.GoBackAsync(new() { WaitUntil = WaitUntilState.Commit });
        await Eventually.TrueAsync(() => Task.FromResult(page.Url.EndsWith("/workloads?status=waiting", StringComparison.Ordinal)), TimeSpan.FromSeconds(10),
            $"back returns to the previous filter (now {page.Url})");
        await Assertions.Expect(page.Locator("[data-testid=workload-link]")).ToHaveTextAsync(["checkout-service-with-a-long-name"]);
    }

    [Fact]
    public async Task An_approver_approves_on_the_workload_page_by_keyboard_alone_with_the_diff_in_view()
    {
        await using var pipeline = await StartWithWorkloadsAsync();
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "alice");
        await page.GotoAsync("/workloads/deployment/shop/checkout-service-with-a-long-name");
        await BrowserFixture.InteractiveAsync(page);

        var card = page.Locator("[data-testid=pending-approval]");
        await Assertions.Expect(card.Locator("[data-testid=approval-diff]")).ToContainTextAsync($"app: {pipeline.Repository("team/shop")}:1.3.0");
        await Assertions.Expect(card.Locator("[data-testid=approval-jump]")).ToHaveTextAsync("minor version");

        // Tab through the page from the top until the approve button has focus, then press Enter: no mouse.
        var approve = card.Locator("[data-testid=approve]");
        for (var i = 0; i < 80 && !await approve.EvaluateAsync<bool>("e => e === document.activeElement"); i++)
        {
            await page.Keyboard.PressAsync("Tab");
        }
        Assert.True(await approve.EvaluateAsync<bool>("e => e === document.activeElement"), "the approve button is reachable with Tab");
        var outline = await approve.EvaluateAsync<string>("e => getComputedStyle(e).outlineStyle");
        Assert.NotEqual("none", outline);
        await page.Keyboard.PressAsync("Enter");

        await pipeline.ApprovalAsync("deployment/shop/checkout-service-with-a-long-name:1.3.0", a => a.State == ApprovalState.Applied);
        Assert.Equal($"{pipeline.Repository("team/shop")}:1.3.0", pipeline.ImageOf("checkout-service-with-a-long-name"));
        await Assertions.Expect(page.Locator("[data-testid=detail-votes]").First).ToContainTextAsync("alice approved");
    }

    [Fact]
    public async Task Dark_mode_follows_the_system_until_chosen_and_the_choice_is_remembered()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var session = browser.Session();
        var page = await session.SignedInPageAsync(pipeline.Url, "victor");
        static Task<bool> DarkAsync(IPage page) => page.EvaluateAsync<bool>(
            "() => { const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number); return r + g + b < 3 * 128; }");

        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await page.GotoAsync("/");
        await BrowserFixture.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("#portal")).ToHaveAttributeAsync("data-theme", "dark");
        await Eventually.TrueAsync(() => DarkAsync(page), TimeSpan.FromSeconds(10), "dark, as the system asks");

        await page.Locator("[data-testid=theme-toggle]").ClickAsync();
        await Eventually.TrueAsync(async () => !await DarkAsync(page), TimeSpan.FromSeconds(10), "light, as chosen");
        await Assertions.Expect(page.Locator("[data-testid=theme-toggle]")).ToHaveAttributeAsync("aria-pressed", "false");

        // The choice outlives a reload, although the system still prefers dark.
        await page.ReloadAsync();
        await BrowserFixture.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("#portal")).ToHaveAttributeAsync("data-theme", "light");
        await Assertions.Expect(page.Locator("[data-testid=theme-toggle]")).ToHaveAttributeAsync("aria-pressed", "false");
        Assert.False(await DarkAsync(page));
        Assert.Equal("light", await page.EvaluateAsync<string>("() => localStorage.getItem('keelportal.theme')"));
    }
}

using Microsoft.Playwright;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Playwright driving Debian's Chromium (<c>/usr/bin/chromium</c>, installed by the test command). Without it the
/// browser tests fail with a message saying how to install it; they never skip.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where page screenshots are saved as test artifacts.</summary>
    public static string Screenshots => Path.Combine(RepoPaths.Root, "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: run ./test.sh (it installs the Debian package chromium)");
        }
        playwright = await Playwright.CreateAsync();
        Assertions.SetDefaultExpectTimeout(15_000);
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
        Directory.CreateDirectory(Screenshots);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        playwright?.Dispose();
    }

    /// <summary>Browser contexts opened for one test; disposing it closes them (and their circuits) before the portal stops.</summary>
    public BrowserSession Session() => new(this);

    internal async Task<IPage> SignedInPageAsync(BrowserSession session, Uri portal, string user, string password, int width, int height)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = portal.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height } });
        session.Track(context);
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        // The circuit replaces the prerendered form when it starts; typing before that would be lost.
        await InteractiveAsync(page);
        await page.FillAsync("#userName", user);
        await page.FillAsync("#password", password);
        await page.ClickAsync("form[data-testid=signin-form] button[type=submit]");
        // The form post answers with a redirect: home when signed in, back to the form with an error otherwise.
        await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal) || url.Contains("error=", StringComparison.Ordinal));
        return page;
    }

    /// <summary>Picks an option of a MudSelect marked with <c>data-testid</c>.</summary>
    public static async Task ChooseAsync(IPage page, string testId, string option)
    {
        await page.Locator($"[data-testid={testId}]").First.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item", new() { HasTextRegex = new System.Text.RegularExpressions.Regex($"^\\s*{System.Text.RegularExpressions.Regex.Escape(option)}\\s*$") }).ClickAsync();
        await Assertions.Expect(page.Locator(".mud-popover-open .mud-list-item")).ToHaveCountAsync(0);
    }

    /// <summary>Waits until the page's circuit is up (a prerendered page ignores clicks until then).</summary>
    public static Task InteractiveAsync(IPage page) => page.Locator("#portal[data-interactive=true]").WaitForAsync();
}

/// <summary>The browser contexts of one test (one per person).</summary>
public sealed class BrowserSession(BrowserFixture fixture) : IAsyncDisposable
{
    internal List<IBrowserContext> Contexts { get; } = [];

    /// <summary>Every error the pages of this session wrote to the browser console (a refused script or style among them).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> ConsoleErrors { get; } = new();

    internal void Track(IBrowserContext context)
    {
        Contexts.Add(context);
        context.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                ConsoleErrors.Enqueue(message.Text);
            }
        };
    }

    /// <summary>A fresh context (its own cookies) signed in as <paramref name="user"/> through the sign-in form.</summary>
    public Task<IPage> SignedInPageAsync(Uri portal, string user, string password = SignIn.Password, int width = 1280, int height = 800) =>
        fixture.SignedInPageAsync(this, portal, user, password, width, height);

    /// <summary>A fresh context, not signed in, on the sign-in page with its circuit up.</summary>
    public async Task<IPage> SignInPageAsync(Uri portal)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = portal.ToString() });
        Track(context);
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await BrowserFixture.InteractiveAsync(page);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var context in Contexts)
        {
            await context.CloseAsync();
        }
    }
}

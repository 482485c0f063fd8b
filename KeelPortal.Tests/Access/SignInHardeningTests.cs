using System.Net;
using System.Net.Http.Headers;
using System.Text;
using KeelPortal.Access;
using KeelPortal.Audit;
using KeelPortal.Tests.TestSupport;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Access;

/// <summary>First-administrator setup, the sign-in form and HTTP Basic under hostile use.</summary>
[Collection(AppHosts.Name)]
public sealed class SignInHardeningTests
{
    private static HttpClient Browser(PortalFactory portal) => portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    [Fact]
    public async Task Concurrent_setup_posts_create_exactly_one_administrator()
    {
        await using var portal = new PortalFactory();
        var clients = Enumerable.Range(0, 8).Select(_ => Browser(portal)).ToList();
        var tokens = await Task.WhenAll(clients.Select(c => SignIn.AntiforgeryTokenAsync(c, "/setup")));

        var answers = await Task.WhenAll(clients.Select((c, i) => c.PostAsync("/account/setup", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = tokens[i],
            ["userName"] = $"admin{i}",
            ["password"] = SignIn.Password,
        }))));

        var accounts = await portal.Services.GetRequiredService<AccountService>().ListAsync();
        var admin = Assert.Single(accounts);
        Assert.Equal(Roles.Admin, admin.Role);
        Assert.Single(answers, a => a.Headers.Location?.OriginalString == "/");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Redirect, a.StatusCode));
        foreach (var disposable in answers.Cast<IDisposable>().Concat(clients))
        {
            disposable.Dispose();
        }
    }

    [Theory]
    [InlineData("/account/signin")]
    [InlineData("/account/setup")]
    public async Task A_missing_or_forged_antiforgery_token_is_a_400_with_a_reason(string path)
    {
        await using var portal = new PortalFactory();
        using var client = Browser(portal);
        var form = new Dictionary<string, string> { ["userName"] = "mallory", ["password"] = SignIn.Password };

        using var missing = await client.PostAsync(path, new FormUrlEncodedContent(form));
        using var forged = await client.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string>(form) { ["__RequestVerificationToken"] = "forged" }));
        using var json = await client.PostAsync(path, new StringContent("{}", Encoding.UTF8, "application/json"));

        foreach (var response in new[] { missing, forged, json })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Contains("anti-forgery token", body, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        }
        Assert.Empty(await portal.Services.GetRequiredService<AccountService>().ListAsync());
    }

    [Theory]
    [InlineData("https://evil.example.com/", "/")]
    [InlineData("//evil.example.com/", "/")]
    [InlineData("/\\evil.example.com/", "/")]
    [InlineData("/approvals\r\nSet-Cookie: x=1", "/")]
    [InlineData("/%", "/")]
    [InlineData("javascript:alert(1)", "/")]
    [InlineData("/approvals?tab=history", "/approvals?tab=history")]
    public async Task A_return_url_leads_only_to_a_page_of_the_portal(string returnUrl, string expected)
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("ada", Roles.Viewer);
        using var client = Browser(portal);
        var token = await SignIn.AntiforgeryTokenAsync(client, "/signin");

        using var response = await client.PostAsync("/account/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["userName"] = "ada",
            ["password"] = SignIn.Password,
            ["returnUrl"] = returnUrl,
        }));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Keep_me_signed_in_makes_a_cookie_that_outlives_the_browser_slides_with_use_and_ends_at_the_maximum()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var portal = new PortalFactory().With("Access:KeepSignedInMax", "14.00:00:00").WithServices(s => s.AddSingleton<TimeProvider>(clock));
        await portal.EnsureUserAsync("ada", Roles.Viewer);

        var (session, sessionCookie) = await SignInAsync(portal, keep: false);
        var (kept, keptCookie) = await SignInAsync(portal, keep: true);

        // A session cookie carries no expiry (it ends with the browser); a kept one expires at the maximum.
        Assert.DoesNotContain("expires=", sessionCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("expires=", keptCookie, StringComparison.OrdinalIgnoreCase);
        var expires = DateTimeOffset.Parse(keptCookie.Split("expires=", StringSplitOptions.None)[1].Split(';')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - clock.GetUtcNow(), TimeSpan.FromDays(14) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(14) + TimeSpan.FromMinutes(1));

        // Used every few days it slides (the cookie is renewed past the first expiry it had) ...
        for (var visit = 0; visit < 3; visit++)
        {
            clock.Advance(TimeSpan.FromDays(4));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(kept));
        }
        // ... and a plain session idle for more than eight hours has ended long since.
        Assert.Equal(HttpStatusCode.Redirect, await StatusAsync(session));
        // Fourteen days after signing in the kept sign-in ends, however active it was.
        clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal(HttpStatusCode.Redirect, await StatusAsync(kept));
        session.Dispose();
        kept.Dispose();
    }

    [Fact]
    public async Task With_the_maximum_at_zero_the_sign_in_page_offers_no_choice_and_a_kept_sign_in_asked_for_anyway_is_a_session()
    {
        await using var portal = new PortalFactory().With("Access:KeepSignedInMax", "00:00:00");
        await portal.EnsureUserAsync("ada", Roles.Viewer);
        using var anonymous = Browser(portal);
        var page = await anonymous.GetStringAsync("/signin");

        var (client, cookie) = await SignInAsync(portal, keep: true);

        Assert.DoesNotContain("keepSignedIn", page, StringComparison.Ordinal);
        Assert.DoesNotContain("expires=", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client));
        client.Dispose();
    }

    [Fact]
    public async Task The_sign_in_page_offers_to_keep_me_signed_in_for_the_maximum()
    {
        await using var portal = new PortalFactory().With("Access:KeepSignedInMax", "30.00:00:00");
        using var anonymous = Browser(portal);

        var page = await anonymous.GetStringAsync("/signin");

        Assert.Contains("name=\"keepSignedIn\"", page, StringComparison.Ordinal);
        Assert.Contains("Keep me signed in on this device (at most 30 days)", page, StringComparison.Ordinal);
    }

    private static async Task<(HttpClient Client, string Cookie)> SignInAsync(PortalFactory portal, bool keep)
    {
        var client = Browser(portal);
        var token = await SignIn.AntiforgeryTokenAsync(client, "/signin");
        var form = new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["userName"] = "ada", ["password"] = SignIn.Password };
        if (keep)
        {
            form["keepSignedIn"] = "on";
        }
        using var response = await client.PostAsync("/account/signin", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("KeelPortal.Auth=", StringComparison.Ordinal));
        return (client, cookie);
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/approvals");
        return response.StatusCode;
    }

    [Fact]
    public async Task Wrong_basic_credentials_are_throttled_per_address_and_never_lock_the_account()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        using var api = portal.CreateClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("root:guess")));

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 14; i++)
        {
            using var response = await api.GetAsync("/v1/approvals");
            statuses.Add(response.StatusCode);
        }
        using var rightButThrottled = portal.CreateClient();
        rightButThrottled.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"root:{SignIn.Password}")));
        using var throttled = await rightButThrottled.GetAsync("/v1/approvals");

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 10), statuses.Take(10));
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 4), statuses.Skip(10));
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.NotNull(throttled.Headers.RetryAfter);
        using (var scope = portal.Services.CreateScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
            var root = (await users.FindByNameAsync("root"))!;
            Assert.False(await users.IsLockedOutAsync(root));
            Assert.Equal(0, await users.GetAccessFailedCountAsync(root));
        }
        using var browser = await portal.SignedInClientAsync("root", Roles.Admin);
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery("api.signin.failed"));
        Assert.Equal(10, trail.Total);
    }
}

using System.Net;
using KeelPortal.Access;
using KeelPortal.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Access;

/// <summary>Response headers against sniffing, framing and injected scripts; forwarded headers only from trusted proxies.</summary>
[Collection(AppHosts.Name)]
public sealed class HeadersTests
{
    /// <summary>Requests arrive from <paramref name="address"/>, as from a proxy in front of the portal.</summary>
    private sealed class FromAddress(IPAddress address) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                context.Connection.RemoteIpAddress = address;
                return following(context);
            });
            next(app);
        };
    }

    [Theory]
    [InlineData("/signin")]
    [InlineData("/healthz")]
    [InlineData("/v1/approvals")]
    public async Task Every_response_forbids_sniffing_framing_and_foreign_scripts(string path)
    {
        await using var portal = new PortalFactory();
        using var client = portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var response = await client.GetAsync(path);

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("same-origin", response.Headers.GetValues("Referrer-Policy").Single());
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
        Assert.Matches("script-src 'self' 'nonce-[A-Za-z0-9+/=]+';", csp);
    }

    [Fact]
    public async Task The_sign_in_page_carries_its_nonce_on_the_only_inline_script_and_the_jobs_dashboard_cannot_be_framed()
    {
        await using var portal = new PortalFactory();
        using var admin = await portal.SignedInClientAsync("root", Roles.Admin);

        using var page = await admin.GetAsync("/signin");
        var html = await page.Content.ReadAsStringAsync();
        var nonce = System.Text.RegularExpressions.Regex.Match(page.Headers.GetValues("Content-Security-Policy").Single(), "'nonce-([^']+)'").Groups[1].Value;
        using var dashboard = await admin.GetAsync("/hangfire");

        Assert.Contains($"<script type=\"importmap\" nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Equal("DENY", dashboard.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("frame-ancestors 'none'", dashboard.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task Over_https_the_portal_sends_hsts_and_secure_cookies()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        using var client = portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri("https://portal.example.com") });

        using var response = await SignIn.PostSignInAsync(client, "root", SignIn.Password);

        Assert.StartsWith("max-age=", response.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("KeelPortal.Auth=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("192.168.7.7", false)]
    public async Task Forwarded_headers_are_believed_only_from_trusted_proxies(string remote, bool trusted)
    {
        await using var portal = new PortalFactory().With("Access:TrustedProxies:0", "10.0.0.0/8")
            .WithServices(s => s.AddSingleton<IStartupFilter>(new FromAddress(IPAddress.Parse(remote))));
        await portal.EnsureUserAsync("root", Roles.Admin);
        using var client = portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");

        using var signIn = await SignIn.PostSignInAsync(client, "root", SignIn.Password);
        using var anonymous = portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        anonymous.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        using var challenge = await anonymous.PostAsync("/account/signout", new FormUrlEncodedContent([]));

        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("KeelPortal.Auth=", StringComparison.Ordinal));
        Assert.Equal(trusted, cookie.Contains("secure", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(trusted ? "https" : "http", challenge.Headers.Location?.Scheme);
    }

    [Fact]
    public async Task A_trusted_proxy_that_is_not_an_address_stops_startup_naming_the_key()
    {
        await using var portal = new PortalFactory().With("Access:TrustedProxies:0", "proxy.internal");

        Assert.ThrowsAny<InvalidOperationException>(() => portal.CreateClient());

        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("Access:TrustedProxies:0: 'proxy.internal' is neither an IP address nor a CIDR network", StringComparison.Ordinal));
    }
}

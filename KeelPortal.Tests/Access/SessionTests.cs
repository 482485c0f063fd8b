using System.Net;
using KeelPortal.Access;
using KeelPortal.Tests.TestSupport;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Access;

/// <summary>A session cookie carries the account, not a copy of its rights: role, lock, removal and sign-out apply at once.</summary>
[Collection(AppHosts.Name)]
public sealed class SessionTests : IAsyncLifetime
{
    private PortalFactory portal = null!;

    private AccountService Accounts => portal.Services.GetRequiredService<AccountService>();

    public async Task InitializeAsync()
    {
        portal = new PortalFactory().With("Access:SessionRevalidation", "00:00:01");
        await portal.EnsureUserAsync("root", Roles.Admin);
        await portal.EnsureUserAsync("ada", Roles.Admin);
    }

    public async Task DisposeAsync() => await portal.DisposeAsync();

    /// <summary>A signed-in client and its cookie jar, so a test can copy the session cookie.</summary>
    private async Task<(HttpClient Client, CookieContainer Jar)> SignedInAsync(string user)
    {
        var jar = new CookieContainer();
        var client = portal.CreateDefaultClient(portal.ClientOptions.BaseAddress, new CookieContainerHandler(jar));
        using var response = await SignIn.PostSignInAsync(client, user, SignIn.Password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return (client, jar);
    }

    private HttpClient WithCookie(string cookie)
    {
        var client = portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        return client;
    }

    private string AuthCookie(CookieContainer jar) =>
        jar.GetCookies(portal.ClientOptions.BaseAddress).Single(c => c.Name == "KeelPortal.Auth").ToString();

    [Fact]
    public async Task A_copy_of_the_session_cookie_stops_working_when_its_owner_signs_out()
    {
        var (client, jar) = await SignedInAsync("ada");
        using var copy = WithCookie(AuthCookie(jar));
        using var before = await copy.GetAsync("/hangfire");

        var token = await SignIn.AntiforgeryTokenAsync(client, "/");
        using var signOut = await client.PostAsync("/account/signout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        using var after = await copy.GetAsync("/hangfire");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        client.Dispose();
    }

    [Fact]
    public async Task Demoting_locking_or_removing_a_person_changes_their_open_session_at_the_next_request()
    {
        var (client, jar) = await SignedInAsync("ada");
        using var session = WithCookie(AuthCookie(jar));
        using var asAdmin = await session.GetAsync("/hangfire");

        await Accounts.SetRoleAsync("ada", Roles.Approver, "root");
        using var asApprover = await session.GetAsync("/hangfire");
        await Accounts.SetRoleAsync("ada", Roles.Admin, "root");
        using var promoted = await session.GetAsync("/hangfire");
        await Accounts.LockAsync("ada", "root");
        using var locked = await session.GetAsync("/hangfire");

        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, asApprover.StatusCode);
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, locked.StatusCode);
        client.Dispose();
    }

    [Fact]
    public async Task A_locked_persons_api_token_stops_working_and_unlocking_restores_it()
    {
        var token = (await Accounts.CreateTokenAsync("ada", "ci", "root")).Token!;
        using var api = portal.CreateClient();
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var open = await api.GetAsync("/v1/approvals");
        await Accounts.LockAsync("ada", "root");
        using var locked = await api.GetAsync("/v1/approvals");
        await Accounts.UnlockAsync("ada", "root");
        using var unlocked = await api.GetAsync("/v1/approvals");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.OK), (open.StatusCode, locked.StatusCode, unlocked.StatusCode));
    }
}

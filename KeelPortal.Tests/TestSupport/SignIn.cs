using System.Net;
using System.Text.RegularExpressions;
using KeelPortal.Access;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.TestSupport;

/// <summary>Accounts and signed-in HTTP clients for tests, through the real sign-in form (antiforgery included).</summary>
public static partial class SignIn
{
    public const string Password = "correct-horse-battery";

    public static async Task EnsureUserAsync(this PortalFactory portal, string user, string role)
    {
        var accounts = portal.Services.GetRequiredService<AccountService>();
        if ((await accounts.ListAsync()).All(a => a.UserName != user))
        {
            var created = await accounts.CreateAsync(user, Password, role, "test");
            Assert.True(created.Succeeded, created.Error);
        }
    }

    /// <summary>A client whose cookie session belongs to <paramref name="user"/> (created with <paramref name="role"/> if missing).</summary>
    public static async Task<HttpClient> SignedInClientAsync(this PortalFactory portal, string user = "admin", string role = Roles.Admin)
    {
        await portal.EnsureUserAsync(user, role);
        var client = portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var response = await PostSignInAsync(client, user, Password);
        Assert.True(response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location?.OriginalString == "/",
            $"sign-in of {user} answered {(int)response.StatusCode} {response.Headers.Location}");
        return client;
    }

    /// <summary>The antiforgery token of the form on <paramref name="page"/> (the cookie half stays in the client).</summary>
    public static async Task<string> AntiforgeryTokenAsync(HttpClient client, string page)
    {
        var match = AntiforgeryField().Match(await client.GetStringAsync(page));
        Assert.True(match.Success, $"no antiforgery field on {page}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    public static async Task<HttpResponseMessage> PostSignInAsync(HttpClient client, string user, string password)
    {
        var token = await AntiforgeryTokenAsync(client, "/signin");
        return await client.PostAsync("/account/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["userName"] = user,
            ["password"] = password,
            ["returnUrl"] = "/",
        }));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

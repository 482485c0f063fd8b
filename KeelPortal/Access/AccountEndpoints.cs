using KeelPortal.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace KeelPortal.Access;

/// <summary>Sign-in, sign-out and first-administrator setup: plain form posts with antiforgery, then a redirect.</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/signin", SignInAsync).AllowAnonymous();
        app.MapPost("/account/signout", SignOutAsync).RequireAuthorization();
        app.MapPost("/account/setup", SetupAsync).AllowAnonymous();
        app.MapGet("/account/sso", (string? returnUrl, Microsoft.Extensions.Options.IOptions<AccessOptions> access) => access.Value.Oidc.Enabled
                ? Results.Challenge(new Microsoft.AspNetCore.Authentication.AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) }, [OidcSignIn.Scheme])
                : Results.Problem(statusCode: 404, title: "Single sign-on is not set up", detail: "set Access:Oidc:Authority and Access:Oidc:ClientId"))
            .AllowAnonymous();
        return app;
    }

    private static async Task<IResult> SignInAsync(
        [FromForm] string? userName, [FromForm] string? password, [FromForm] string? returnUrl,
        SignInManager<IdentityUser> signIn, AuditTrail audit)
    {
        var target = SafeReturnUrl(returnUrl);
        if (string.IsNullOrWhiteSpace(userName) || string.IsNullOrEmpty(password))
        {
            return Results.Redirect($"/signin?error=missing&returnUrl={Uri.EscapeDataString(target)}");
        }
        var result = await signIn.PasswordSignInAsync(userName.Trim(), password, isPersistent: false, lockoutOnFailure: true);
        if (!result.Succeeded)
        {
            await audit.RecordAsync(userName.Trim(), "signin.failed", $"user/{userName.Trim()}", result.IsLockedOut ? "locked out" : "wrong user name or password");
            return Results.Redirect($"/signin?error={(result.IsLockedOut ? "locked" : "wrong")}&returnUrl={Uri.EscapeDataString(target)}");
        }
        await audit.RecordAsync(userName.Trim(), "signin", $"user/{userName.Trim()}", null);
        return Results.LocalRedirect(target);
    }

    private static async Task<IResult> SignOutAsync(SignInManager<IdentityUser> signIn)
    {
        await signIn.SignOutAsync();
        return Results.Redirect("/signin?signedOut=1");
    }

    private static async Task<IResult> SetupAsync(
        [FromForm] string? userName, [FromForm] string? password, UserManager<IdentityUser> users, AccountService accounts, SignInManager<IdentityUser> signIn)
    {
        if (users.Users.Any())
        {
            return Results.Redirect("/signin");
        }
        var created = await accounts.CreateAsync(userName ?? "", password ?? "", Roles.Admin, userName ?? "setup");
        if (!created.Succeeded)
        {
            return Results.Redirect($"/setup?error={Uri.EscapeDataString(created.Error ?? "")}");
        }
        await signIn.PasswordSignInAsync(userName!.Trim(), password!, isPersistent: false, lockoutOnFailure: false);
        return Results.Redirect("/");
    }

    private static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl : "/";
}

using System.Security.Claims;
using KeelPortal.Audit;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>
/// Sign-in, sign-out and first-administrator setup: plain form posts, then a redirect. Each checks its antiforgery
/// token itself, so a missing or stale token is a 400 with a reason instead of an exception.
/// </summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/signin", SignInAsync).AllowAnonymous().DisableAntiforgery();
        app.MapPost("/account/signout", SignOutAsync).RequireAuthorization().DisableAntiforgery();
        app.MapPost("/account/setup", SetupAsync).AllowAnonymous().DisableAntiforgery();
        app.MapGet("/account/sso", (string? returnUrl, Microsoft.Extensions.Options.IOptions<AccessOptions> access) => access.Value.Oidc.Enabled
                ? Results.Challenge(new Microsoft.AspNetCore.Authentication.AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) }, [OidcSignIn.Scheme])
                : Results.Problem(statusCode: 404, title: "Single sign-on is not set up", detail: "set Access:Oidc:Authority and Access:Oidc:ClientId"))
            .AllowAnonymous();
        return app;
    }

    private static async Task<IResult> SignInAsync(
        HttpContext context, IAntiforgery antiforgery, SignInManager<IdentityUser> signIn, AuditTrail audit, IOptionsMonitor<AccessOptions> access, TimeProvider time)
    {
        if (await FormAsync(context, antiforgery) is not { } form)
        {
            return FormRefused();
        }
        var target = SafeReturnUrl(form["returnUrl"]);
        var userName = form["userName"].ToString().Trim();
        var password = form["password"].ToString();
        if (userName.Length == 0 || password.Length == 0)
        {
            return Results.Redirect($"/signin?error=missing&returnUrl={Uri.EscapeDataString(target)}");
        }
        var user = await signIn.UserManager.FindByNameAsync(userName);
        var result = user is null ? Microsoft.AspNetCore.Identity.SignInResult.Failed : await signIn.CheckPasswordSignInAsync(user, password, lockoutOnFailure: true);
        if (result.Succeeded)
        {
            var keep = form["keepSignedIn"].ToString() is "on" or "true";
            await signIn.SignInWithClaimsAsync(user!, KeptSignIn.Properties(keep, access.CurrentValue, time.GetUtcNow()), [new Claim("amr", "pwd")]);
        }
        var subject = $"user/{LogText.Clean(userName)}";
        if (!result.Succeeded)
        {
            await audit.RecordAsync(LogText.Clean(userName), AuditActions.SigninFailed, subject, result.IsLockedOut ? "locked out" : "wrong user name or password");
            return Results.Redirect($"/signin?error={(result.IsLockedOut ? "locked" : "wrong")}&returnUrl={Uri.EscapeDataString(target)}");
        }
        await audit.RecordAsync(userName, AuditActions.Signin, subject, null);
        return Results.Redirect(target);
    }

    /// <summary>Signing out ends every session of the account, so a copied cookie stops working too.</summary>
    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery, SignInManager<IdentityUser> signIn, AccountService accounts)
    {
        if (await FormAsync(context, antiforgery) is null)
        {
            return FormRefused();
        }
        if (context.User.FindFirstValue(ClaimTypes.NameIdentifier) is { } userId)
        {
            await accounts.EndSessionsAsync(userId);
        }
        await signIn.SignOutAsync();
        return Results.Redirect("/signin?signedOut=1");
    }

    private static async Task<IResult> SetupAsync(HttpContext context, IAntiforgery antiforgery, AccountService accounts, SignInManager<IdentityUser> signIn)
    {
        if (await FormAsync(context, antiforgery) is not { } form)
        {
            return FormRefused();
        }
        var userName = form["userName"].ToString();
        var password = form["password"].ToString();
        var created = await accounts.CreateFirstAdminAsync(userName, password);
        if (created is null)
        {
            return Results.Redirect("/signin");
        }
        if (!created.Succeeded)
        {
            return Results.Redirect($"/setup?error={Uri.EscapeDataString(created.Error ?? "")}");
        }
        await signIn.PasswordSignInAsync(userName.Trim(), password, isPersistent: false, lockoutOnFailure: false);
        return Results.Redirect("/");
    }

    private static async Task<IFormCollection?> FormAsync(HttpContext context, IAntiforgery antiforgery)
    {
        if (!context.Request.HasFormContentType)
        {
            return null;
        }
        try
        {
            await antiforgery.ValidateRequestAsync(context);
            return await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is AntiforgeryValidationException or BadHttpRequestException or InvalidDataException)
        {
            return null;
        }
    }

    private static IResult FormRefused() => Results.Problem(statusCode: 400, title: "The form cannot be used",
        detail: "the form's anti-forgery token is missing or no longer valid (or the body is not a form): reload the page and submit it again");

    /// <summary>A path on this site (<c>/approvals</c>), or <c>/</c> for anything else: other hosts, schemes, control characters.</summary>
    internal static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.Length <= 2048 && returnUrl[0] == '/'
        && (returnUrl.Length == 1 || (returnUrl[1] != '/' && returnUrl[1] != '\\'))
        && !returnUrl.Any(c => char.IsControl(c) || c == '\\')
        && Uri.IsWellFormedUriString(returnUrl, UriKind.Relative)
            ? returnUrl : "/";
}

using System.Security.Claims;
using KeelPortal.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace KeelPortal.Access;

/// <summary>
/// OpenID Connect sign-in: the provider's identity becomes a portal account (created on first sign-in) whose role
/// follows the configured claim → role map at every sign-in; the session is an ordinary portal session.
/// </summary>
public static class OidcSignIn
{
    public const string Scheme = "oidc";

    /// <summary>
    /// Registers what the scheme needs without the scheme itself: <see cref="Activate"/> adds the scheme at start-up
    /// only when <see cref="OidcOptions.Enabled"/>, with settings read from the final configuration.
    /// </summary>
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenIdConnectOptions>, OpenIdConnectPostConfigureOptions>());
        services.AddOptions<OpenIdConnectOptions>(Scheme).Configure<IOptions<AccessOptions>>((o, access) =>
        {
            var oidc = access.Value.Oidc;
            o.Authority = oidc.Authority;
            o.ClientId = oidc.ClientId;
            o.ClientSecret = oidc.ClientSecret;
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.ResponseMode = OpenIdConnectResponseMode.Query;
            o.UsePkce = true;
            o.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
            o.SignInScheme = IdentityConstants.ApplicationScheme;
            o.CallbackPath = "/signin-oidc";
            o.MapInboundClaims = false;
            o.Scope.Clear();
            o.Scope.Add("openid");
            o.Scope.Add("profile");
            o.NonceCookie.SameSite = SameSiteMode.Lax;
            o.CorrelationCookie.SameSite = SameSiteMode.Lax;
            o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Events.OnTokenValidated = context => AdoptAsync(context, oidc);
            o.Events.OnRemoteFailure = context =>
            {
                context.Response.Redirect("/signin?error=sso");
                context.HandleResponse();
                return Task.CompletedTask;
            };
        });
    }

    public static void Activate(WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<AccessOptions>>().Value.Oidc.Enabled)
        {
            app.Services.GetRequiredService<IAuthenticationSchemeProvider>()
                .TryAddScheme(new AuthenticationScheme(Scheme, "single sign-on", typeof(OpenIdConnectHandler)));
        }
    }

    /// <summary>Replaces the provider's principal with the portal account's, creating or updating the account.</summary>
    private static async Task AdoptAsync(TokenValidatedContext context, OidcOptions oidc)
    {
        var external = context.Principal!;
        var name = external.FindFirstValue("preferred_username") ?? external.FindFirstValue("email") ?? external.FindFirstValue("sub");
        var role = RoleOf(external, oidc);
        var services = context.HttpContext.RequestServices;
        var audit = services.GetRequiredService<AuditTrail>();
        if (name is null || role is null)
        {
            await audit.RecordAsync(name ?? "unknown", AuditActions.SigninFailed, $"user/{name}", $"single sign-on: no role for this account (claim {oidc.RoleClaim})");
            context.Fail("no portal role for this account");
            return;
        }
        var users = services.GetRequiredService<UserManager<IdentityUser>>();
        var user = await users.FindByNameAsync(name);
        if (user is null)
        {
            user = new IdentityUser(name);
            var created = await users.CreateAsync(user);
            if (!created.Succeeded)
            {
                context.Fail(string.Join(" ", created.Errors.Select(e => e.Description)));
                return;
            }
        }
        var current = await users.GetRolesAsync(user);
        if (!current.SequenceEqual([role]))
        {
            await users.RemoveFromRolesAsync(user, current);
            await users.AddToRoleAsync(user, role);
            // The provider's groups moved the person to another role: their other open consoles follow now.
            await services.GetRequiredService<Data.Outbox>().PublishAsync(new AccountChanged(user.Id));
        }
        context.Principal = await services.GetRequiredService<SignInManager<IdentityUser>>().CreateUserPrincipalAsync(user);
        await audit.RecordAsync(name, Audit.AuditActions.Signin, $"user/{name}", $"single sign-on as {role}");
    }

    internal static string? RoleOf(ClaimsPrincipal principal, OidcOptions oidc)
    {
        var values = principal.FindAll(oidc.RoleClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var mapped = Roles.Highest(oidc.RoleMap.Where(m => values.Contains(m.Key)).Select(m => m.Value));
        return mapped ?? (oidc.DefaultRole is { } d && Roles.All.Contains(d) ? d : null);
    }
}

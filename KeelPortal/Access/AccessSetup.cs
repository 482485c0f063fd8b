using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using KeelPortal.Data;

namespace KeelPortal.Access;

public static class AccessSetup
{
    public const string ApiPolicy = "api-view";
    public const string ApiVotePolicy = "api-vote";

    public static WebApplicationBuilder AddAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section);
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddAuthentication(IdentityConstants.ApplicationScheme)
            .AddIdentityCookies(cookies => cookies.ApplicationCookie?.Configure(o =>
            {
                o.LoginPath = "/signin";
                o.AccessDeniedPath = "/denied";
                o.Cookie.Name = "KeelPortal.Auth";
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
            }));
        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiAuthenticationHandler>(ApiAuthenticationHandler.SchemeName, null);
        OidcSignIn.Add(builder.Services);
        builder.Services.AddIdentityCore<IdentityUser>(o =>
            {
                o.Password.RequiredLength = 12;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Lockout.MaxFailedAccessAttempts = 10;
                o.User.RequireUniqueEmail = false;
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<PortalDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Roles.CanView, p => p.RequireRole(Roles.Viewer, Roles.Approver, Roles.Admin))
            .AddPolicy(Roles.CanVote, p => p.RequireRole(Roles.Approver, Roles.Admin))
            .AddPolicy(Roles.CanAdminister, p => p.RequireRole(Roles.Admin))
            .AddPolicy(ApiPolicy, p => p.AddAuthenticationSchemes(ApiAuthenticationHandler.SchemeName).RequireRole(Roles.Viewer, Roles.Approver, Roles.Admin))
            .AddPolicy(ApiVotePolicy, p => p.AddAuthenticationSchemes(ApiAuthenticationHandler.SchemeName).RequireRole(Roles.Approver, Roles.Admin));
        builder.Services.AddSingleton<AccountService>();
        builder.Services.AddSingleton<UserCount>();
        builder.Services.AddHostedService<AccessSeeder>();
        return builder;
    }

    public static WebApplication UseAccess(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }

    public static WebApplication MapAccess(this WebApplication app)
    {
        OidcSignIn.Activate(app);
        app.MapAccountEndpoints();
        return app;
    }
}

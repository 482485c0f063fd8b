using KeelPortal.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

public static class AccessSetup
{
    public const string ApiPolicy = "api-view";
    public const string ApiVotePolicy = "api-vote";
    public const string ApiAdminPolicy = "api-admin";

    public static WebApplicationBuilder AddAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AccessOptions>, TrustedProxiesValidation>();
        builder.Services.AddCascadingAuthenticationState();
        // Every request re-reads the account behind its cookie (role, lock, sign-out): rights follow the account at once.
        builder.Services.Configure<SecurityStampValidatorOptions>(o => o.ValidationInterval = TimeSpan.Zero);
        builder.Services.AddScoped<AuthenticationStateProvider, SessionRevalidation>();
        builder.Services.AddSingleton<BasicAttemptLimiter>();
        builder.Services.AddAuthentication(IdentityConstants.ApplicationScheme)
            .AddIdentityCookies(cookies => cookies.ApplicationCookie?.Configure(o =>
            {
                o.LoginPath = "/signin";
                o.AccessDeniedPath = "/denied";
                o.Cookie.Name = "KeelPortal.Auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.Events.OnValidatePrincipal = KeptSignIn.ValidateAsync;
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
        AddPolicies(builder.Services);
        builder.Services.AddSingleton<AccountService>();
        builder.Services.AddSingleton<Hangfire.Dashboard.IDashboardAuthorizationFilter, AdminsOnlyFilter>();
        builder.Services.Configure<Data.OutboxTypes>(t => t.Add<AccountChanged>());
        builder.Services.AddSingleton<UserCount>();
        builder.Services.AddSingleton<AdminCheck>();
        builder.Services.AddHostedService<AccessSeeder>();
        builder.Services.AddApiDocument();
        return builder;
    }

    /// <summary>The console's roles and the API's: each API policy authenticates by the API scheme (token or Basic) alone.</summary>
    private static void AddPolicies(IServiceCollection services) =>
        services.AddAuthorizationBuilder()
            .AddPolicy(Roles.CanView, p => p.RequireRole(Roles.Viewer, Roles.Approver, Roles.Admin))
            .AddPolicy(Roles.CanVote, p => p.RequireRole(Roles.Approver, Roles.Admin))
            .AddPolicy(Roles.CanAdminister, p => p.RequireRole(Roles.Admin))
            .AddPolicy(ApiPolicy, p => p.AddAuthenticationSchemes(ApiAuthenticationHandler.SchemeName).RequireRole(Roles.Viewer, Roles.Approver, Roles.Admin))
            .AddPolicy(ApiVotePolicy, p => p.AddAuthenticationSchemes(ApiAuthenticationHandler.SchemeName).RequireRole(Roles.Approver, Roles.Admin))
            .AddPolicy(ApiAdminPolicy, p => p.AddAuthenticationSchemes(ApiAuthenticationHandler.SchemeName).RequireRole(Roles.Admin))
            // Metrics: the metrics port or token, else an administrator signed in or with an API token.
            // (Challenged by the API scheme alone: a scraper gets 401, not a redirect to the sign-in page.)
            .AddPolicy(Telemetry.TelemetrySetup.MetricsPolicy, p => p
                .AddAuthenticationSchemes(ApiAuthenticationHandler.SchemeName)
                .RequireAssertion(async c => c.User.IsInRole(Roles.Admin) || Telemetry.TelemetrySetup.OpenToAnyone(c.Resource as HttpContext)
                    || (c.Resource is HttpContext http && (await http.AuthenticateAsync(IdentityConstants.ApplicationScheme)).Principal?.IsInRole(Roles.Admin) == true)));

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
        app.MapApiDocument();
        return app;
    }
}

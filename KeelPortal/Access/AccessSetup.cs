using Microsoft.AspNetCore.Authentication;

namespace KeelPortal.Access;

public static class AccessSetup
{
    public const string ApiPolicy = "api";

    public static WebApplicationBuilder AddAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section);
        builder.Services.AddSingleton<IApiUserValidator, ConfiguredApiUsers>();
        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiBasicHandler>(ApiBasicHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicy, policy => policy.AddAuthenticationSchemes(ApiBasicHandler.SchemeName).RequireAuthenticatedUser());
        return builder;
    }

    public static WebApplication UseAccess(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }
}

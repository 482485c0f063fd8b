using MudBlazor.Services;

namespace KeelPortal.Components;

public static class ShellSetup
{
    public static WebApplicationBuilder AddPortalShell(this WebApplicationBuilder builder)
    {
        // Serves the framework's and MudBlazor's assets from the build output when running from source in any
        // environment (dotnet run, tests); a published app has them in wwwroot and this does nothing.
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        // Pop-up messages sit at the bottom left — over the navigation drawer's free lower part on a wide screen (app.css
        // keeps them its width), at the foot of a narrow one — never over a page's buttons, which sit top and right.
        builder.Services.AddMudServices(o => o.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomLeft);
        builder.Services.AddSingleton<Overview.OverviewFacts>();
        builder.Services.AddHostedService<StartupBanner>();
        return builder;
    }

    public static WebApplication UsePortalShell(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }
        app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
        return app;
    }

    public static WebApplication MapPortalShell(this WebApplication app)
    {
        app.MapStaticAssets();
        // The portal's own Content-Security-Policy (Access/EdgeSecurity) already forbids framing.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o => o.ContentSecurityFrameAncestorsPolicy = null);
        return app;
    }
}

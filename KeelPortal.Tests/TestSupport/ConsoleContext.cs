using Bunit;
using KeelPortal.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor.Services;

namespace KeelPortal.Tests.TestSupport;

/// <summary>A bUnit context rendering the console's components on a running portal's services, signed in as one person.</summary>
public static class ConsoleContext
{
    public static BunitContext Create(IServiceProvider services, string user, string role)
    {
        var context = new BunitContext();
        context.Services.AddMudServices();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddFallbackServiceProvider(services);
        var auth = context.AddAuthorization();
        auth.SetAuthorized(user);
        auth.SetRoles(role);
        if (role == Roles.Admin)
        {
            auth.SetPolicies(Roles.CanAdminister);
        }
        context.Renderer.SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        return context;
    }
}

using Bunit;
using KeelPortal.Components.Layout;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace KeelPortal.Tests.Components;

public sealed class NavMenuTests : BunitContext
{
    public NavMenuTests()
    {
        Services.AddMudServices();
        JSInterop.Mode = JSRuntimeMode.Loose;
    }

    [Fact]
    public void Offers_every_section_of_the_console_in_order()
    {
        var nav = Render<NavMenu>();

        var links = nav.FindAll("a").Select(a => (a.TextContent.Trim(), a.GetAttribute("href"))).ToList();

        Assert.Equal(
            [("Overview", ""), ("Workloads", "workloads"), ("Approvals", "approvals"), ("Change windows", "delivery"), ("Notifications", "notifications"), ("Audit", "audit")],
            links);
    }

    [Fact]
    public void Administrators_also_see_registries_and_users()
    {
        var nav = Render<NavMenu>(p => p.Add(n => n.ShowAdmin, true));

        var links = nav.FindAll("a").Select(a => a.GetAttribute("href")).ToList();

        Assert.Equal(["", "workloads", "approvals", "delivery", "registries", "notifications", "audit", "users"], links);
    }

    [Fact]
    public void Marks_the_section_of_the_current_address_active_and_only_that_one()
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo("approvals");

        var nav = Render<NavMenu>();

        var active = nav.FindAll("a.active").Select(a => a.TextContent.Trim());
        Assert.Equal(["Approvals"], active);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Bunit;
using KeelPortal.Access;
using KeelPortal.Data;
using KeelPortal.Delivery;
using KeelPortal.Tests.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Delivery;

/// <summary>
/// A stored window this replica cannot read (here: a time zone the machine does not know, written past the console's
/// check) never means "no window": the updates it covers wait, the API and the console say why, and the log says it once.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class UnreadableWindowTests
{
    /// <summary>
    /// Stores the global window <c>office-hours</c> with a time zone no machine knows, past the console's check (as a row
    /// changed by hand, or read on a machine without that zone, would be), and has the portal read its windows again.
    /// </summary>
    internal static async Task StoreUnreadableWindowAsync(IServiceProvider services)
    {
        await using (var db = await services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            db.Add(new ChangeWindow { Name = "office-hours", Days = "Mon-Fri", Hours = "09:00-17:00", TimeZone = "Mars/Olympus", Scope = "global", CreatedBy = "root" });
            await db.SaveChangesAsync();
        }
        services.GetRequiredService<DeliverySchedule>().Forget();
    }

    [Fact]
    public async Task Updates_covered_by_an_unreadable_window_wait_and_the_console_and_the_log_say_why()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        await StoreUnreadableWindowAsync(portal.Services);
        var schedule = portal.Services.GetRequiredService<DeliverySchedule>();
        using var api = portal.CreateClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"root:{SignIn.Password}")));

        var before = DateTime.UtcNow;
        var verdict = await schedule.WhenAsync("deployment/shop/web");
        schedule.Forget();
        var again = await schedule.WhenAsync("deployment/shop/web");
        var listed = JsonNode.Parse(await api.GetStringAsync("/v1/windows"))!.AsArray().Single()!;
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        var page = console.Render<DeliveryPage>();
        page.WaitForAssertion(() => Assert.Contains("cannot be read: 'Mars/Olympus' is not a time zone", page.Find("[data-testid=window-problem]").TextContent, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));

        Assert.False(verdict.Now);
        Assert.Contains("the change window office-hours cannot be read ('Mars/Olympus' is not a time zone", verdict.Reason, StringComparison.Ordinal);
        Assert.InRange(verdict.AtUtc, before + DeliveryRules.UnreadableWindowRecheck - TimeSpan.FromSeconds(1), DateTime.UtcNow + DeliveryRules.UnreadableWindowRecheck);
        Assert.False(again.Now);
        Assert.Contains("not a time zone", listed["problem"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(listed["open"]!.GetValue<bool>());
        Assert.Contains("updates wait", page.Find("[data-testid=window-now]").TextContent, StringComparison.Ordinal);
        Assert.Single(portal.Logs.Lines, l => l.Message.Contains("The change window office-hours cannot be read", StringComparison.Ordinal));

        // Deleting it (or fixing it) lets the updates go.
        using var deleted = await api.DeleteAsync("/v1/windows/office-hours");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True((await schedule.WhenAsync("deployment/shop/web")).Now);
    }
}

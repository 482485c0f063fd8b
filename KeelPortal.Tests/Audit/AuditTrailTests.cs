using Bunit;
using System.Net;
using KeelPortal.Access;
using KeelPortal.Audit;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace KeelPortal.Tests.Audit;

/// <summary>The audit trail's filters, its CSV export, and decisions recorded only when they change.</summary>
[Collection(AppHosts.Name)]
public sealed class AuditTrailTests : IAsyncLifetime
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero));
    private PortalFactory portal = null!;

    private AuditTrail Trail => portal.Services.GetRequiredService<AuditTrail>();

    public async Task InitializeAsync()
    {
        portal = new PortalFactory().WithServices(s => s.AddSingleton<TimeProvider>(clock));
        await Trail.RecordAsync("alice", AuditActions.ApprovalVoted, "deployment/shop/web:1.2.0", "1/2");
        clock.Advance(TimeSpan.FromDays(1));
        await Trail.RecordAsync("bob", AuditActions.ApprovalRejected, "deployment/shop/api:2.0.0", "=HYPERLINK(\"http://evil\"), \"quoted\"");
        clock.Advance(TimeSpan.FromDays(1));
        await Trail.RecordAsync("system", AuditActions.Decision, "deployment/shop/web", "1.1.0 -> 1.2.0: eligible");
    }

    public async Task DisposeAsync() => await portal.DisposeAsync();

    [Fact]
    public async Task The_audit_pages_filters_and_page_live_in_the_address()
    {
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        var navigation = console.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo("/audit?actor=alice&from=2026-11-20&to=2026-11-20");

        var page = console.Render<KeelPortal.Audit.AuditPage>();

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=audit-entries] tbody tr")), TimeSpan.FromSeconds(10));
        Assert.Contains("approval.voted", page.Find("[data-testid=audit-entries] tbody tr").TextContent, StringComparison.Ordinal);
        var action = page.FindComponents<MudBlazor.MudSelect<string>>().Single(s => s.Instance.Label == "Action");
        await page.InvokeAsync(() => action.Instance.ValueChanged.InvokeAsync("approval.rejected"));
        page.WaitForAssertion(() => Assert.Contains("Nothing matches these filters.", page.Find("[data-testid=audit-entries]").TextContent, StringComparison.Ordinal));
        Assert.Equal("/audit?actor=alice&from=2026-11-20&to=2026-11-20&action=approval.rejected",
            navigation.ToBaseRelativePath(navigation.Uri).Insert(0, "/"));

        // An address that cannot be read (a negative page, a day that is not one) shows the first page, unfiltered by it.
        navigation.NavigateTo("/audit?page=-3&from=yesterday&to=2026-13-45");
        var odd = console.Render<KeelPortal.Audit.AuditPage>();
        odd.WaitForAssertion(() => Assert.Equal(3, odd.FindAll("[data-testid=audit-entries] tbody tr").Count), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Entries_filter_by_action_person_workload_and_time_range()
    {
        var day2 = new DateTime(2026, 11, 21, 0, 0, 0, DateTimeKind.Utc);

        var byAction = await Trail.QueryAsync(new AuditQuery(Action: "approval.rejected"));
        var byActor = await Trail.QueryAsync(new AuditQuery(Actor: "alice"));
        var byWorkload = await Trail.QueryAsync(new AuditQuery(Subject: "deployment/shop/web"));
        var byRange = await Trail.QueryAsync(new AuditQuery(FromUtc: day2, ToUtc: day2.AddDays(1)));

        Assert.Equal(["bob"], byAction.Entries.Select(e => e.Actor));
        Assert.Equal(["approval.voted"], byActor.Entries.Select(e => e.Action));
        Assert.Equal(["decision", "approval.voted"], byWorkload.Entries.Select(e => e.Action));
        Assert.Equal(["approval.rejected"], byRange.Entries.Select(e => e.Action));
        Assert.Equal(["approval.rejected", "approval.voted", "decision"], await Trail.ActionsAsync());
    }

    [Fact]
    public async Task The_csv_export_follows_the_filters_and_defuses_formulas()
    {
        using var viewer = await portal.SignedInClientAsync("vera", Roles.Viewer);

        using var all = await viewer.GetAsync("/audit/export.csv?subject=deployment/shop/api");
        var csv = await all.Content.ReadAsStringAsync();
        using var anonymous = await portal.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false })
            .GetAsync("/audit/export.csv");

        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal("text/csv", all.Content.Headers.ContentType?.MediaType);
        var lines = csv.TrimEnd('\n').Split('\n');
        Assert.Equal("occurredAtUtc,actor,action,subject,details", lines[0]);
        Assert.Equal("2026-11-21T08:00:00.000Z,bob,approval.rejected,deployment/shop/api:2.0.0,\"'=HYPERLINK(\"\"http://evil\"\"), \"\"quoted\"\"\"", lines[1]);
        Assert.Equal(2, lines.Length);
        Assert.NotEqual(HttpStatusCode.OK, anonymous.StatusCode);
    }

    [Fact]
    public async Task A_decision_is_recorded_when_it_changes_not_each_time_it_is_recomputed()
    {
        var first = await Trail.RecordChangeAsync("system", AuditActions.Decision, "deployment/shop/web", "1.1.0 -> 1.2.0: eligible; deployment/shop/web:1.2.0 is already pending");
        var again = await Trail.RecordChangeAsync("system", AuditActions.Decision, "deployment/shop/web", "1.1.0 -> 1.2.0: eligible; deployment/shop/web:1.2.0 is already pending");
        var other = await Trail.RecordChangeAsync("system", AuditActions.Decision, "deployment/shop/api", "1.1.0 -> 1.2.0: eligible; deployment/shop/web:1.2.0 is already pending");

        Assert.Equal((true, false, true), (first, again, other));
    }
}

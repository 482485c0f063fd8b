using System.Net;
using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Delivery;

/// <summary>
/// Change windows and freezes on the real pipeline (registry, API test server) with the portal's clock moved: an
/// update approved on Friday at 17:00 outside its window is applied on Monday at 09:00, once; a freeze keeps an
/// approved update back until an Admin lets it through with a reason, or the freeze is removed.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ChangeWindowsTests
{
    private const string Workload = "deployment/shop/shop";

    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static async Task<PipelinePortal> StartAsync(ShiftedClock clock)
    {
        var pipeline = await PipelinePortal.StartAsync(configure: p => p
            .WithServices(s => s.AddSingleton<TimeProvider>(clock)));
        var repository = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        await pipeline.Pusher.PushAsync("team/shop", "1.1.0");
        // Webhook-triggered, so no scheduled poll (every minute on the job server) races the test's own poll and proposes first.
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "2")));
        await pipeline.TrackedAsync(Workload);
        return pipeline;
    }

    private static async Task ApproveAsync(PipelinePortal pipeline, string version)
    {
        Assert.Equal(1, await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync(pipeline.Repository("team/shop")));
        Assert.Equal(HttpStatusCode.OK, (await pipeline.VoteAsync("alice", $"{Workload}:{version}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await pipeline.VoteAsync("bob", $"{Workload}:{version}")).StatusCode);
    }

    [Fact]
    public async Task An_update_approved_on_Friday_evening_is_applied_when_the_window_opens_on_Monday_once()
    {
        // Friday 4 December 2026, 17:00 in Berlin.
        var clock = new ShiftedClock(new DateTimeOffset(2026, 12, 4, 17, 0, 0, TimeSpan.FromHours(1)));
        await using var pipeline = await StartAsync(clock);
        using var root = pipeline.ApiClient("root");
        using var alice = pipeline.ApiClient("alice");
        var window = new { name = "office-hours", days = "Mon-Thu", hours = "09:00-16:00", timeZone = "Europe/Berlin", scope = "global" };
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.PostAsJsonAsync("v1/windows", window)).StatusCode);
        using (var bad = await root.PostAsJsonAsync("v1/windows", window with { timeZone = "Mars/Olympus" }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
            Assert.Contains("'Mars/Olympus' is not a time zone", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.OK, (await root.PostAsJsonAsync("v1/windows", window)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await root.PostAsJsonAsync("v1/windows", window)).StatusCode);

        await ApproveAsync(pipeline, "1.1.0");

        var monday = new DateTime(2026, 12, 7, 8, 0, 0, DateTimeKind.Utc);
        var waiting = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.ScheduledForUtc is not null);
        Assert.Equal((ApprovalState.Approved, monday), (waiting.State, waiting.ScheduledForUtc));
        Assert.Equal("outside the change window office-hours (Mon,Tue,Wed,Thu 09:00-16:00 Europe/Berlin)", waiting.ScheduleReason);
        await Eventually.ValueAsync(() => pipeline.AuditActionsAsync(Workload), t => t.Contains("apply.scheduled"), "apply.scheduled recorded");
        var row = (await pipeline.Portal.Services.GetRequiredService<WorkloadBoard>().QueryAsync(new KeelPortal.Workloads.WorkloadQuery())).Rows.Single();
        Assert.Equal((WorkloadStatus.Scheduled, "1.1.0 scheduled for 2026-12-07 08:00Z: outside the change window office-hours (Mon,Tue,Wed,Thu 09:00-16:00 Europe/Berlin)"),
            (row.Status, row.Detail));
        using (var schedule = await alice.GetAsync($"v1/schedule?workload={Workload}"))
        {
            Assert.Contains("\"now\":false", await schedule.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // Sunday evening: nothing is due yet.
        clock.JumpTo(new DateTimeOffset(2026, 12, 6, 20, 0, 0, TimeSpan.Zero));
        await pipeline.Portal.Services.GetRequiredService<KeelPortal.Data.EventRelay>().RunOnceAsync(CancellationToken.None);
        Assert.Equal(ApprovalState.Approved, (await pipeline.Approvals.GetAsync(waiting.Id))!.State);
        Assert.Equal(0, pipeline.PatchesOf("shop"));

        clock.JumpTo(new DateTimeOffset(monday));
        var applied = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.State == ApprovalState.Applied);
        Assert.Equal(1, pipeline.PatchesOf("shop"));
        Assert.EndsWith(":1.1.0", pipeline.ImageOf("shop"), StringComparison.Ordinal);
        Assert.True(applied.UpdatedAtUtc >= monday);
        // The trail records the apply right after the approval's state moves.
        var trail = await Eventually.ValueAsync(() => pipeline.AuditActionsAsync(Workload), t => t.Contains("apply.succeeded"), "apply.succeeded recorded");
        Assert.Single(trail, a => a == "apply.succeeded");
    }

    [Fact]
    public async Task An_update_covered_by_a_window_that_cannot_be_read_waits_audited_once_and_goes_when_it_is_deleted()
    {
        var clock = new ShiftedClock(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero));
        await using var pipeline = await StartAsync(clock);
        await UnreadableWindowTests.StoreUnreadableWindowAsync(pipeline.Portal.Services);

        await ApproveAsync(pipeline, "1.1.0");
        var waiting = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.ScheduledForUtc is not null);
        Assert.Contains("the change window office-hours cannot be read", waiting.ScheduleReason, StringComparison.Ordinal);
        // Looked at again when its time comes: still unreadable, so it waits again, without a second audit entry.
        clock.JumpTo(new DateTimeOffset(DateTime.SpecifyKind(waiting.ScheduledForUtc!.Value, DateTimeKind.Utc)).AddMinutes(1));
        await pipeline.ApprovalAsync(waiting.Identifier, a => a.ScheduledForUtc > waiting.ScheduledForUtc);
        Assert.Equal(0, pipeline.PatchesOf("shop"));

        using var root = pipeline.ApiClient("root");
        Assert.Equal(HttpStatusCode.OK, (await root.DeleteAsync("v1/windows/office-hours")).StatusCode);
        await pipeline.ApprovalAsync(waiting.Identifier, a => a.State == ApprovalState.Applied);
        var trail = await Eventually.ValueAsync(() => pipeline.AuditActionsAsync(Workload), t => t.Contains("apply.succeeded"), "apply.succeeded recorded");
        Assert.Equal(1, pipeline.PatchesOf("shop"));
        Assert.Single(trail, a => a == "apply.scheduled");
    }

    [Fact]
    public async Task A_freeze_keeps_approved_updates_back_until_an_admin_overrides_one_or_the_freeze_is_removed()
    {
        var now = new DateTimeOffset(2026, 12, 21, 10, 0, 0, TimeSpan.Zero);
        var clock = new ShiftedClock(now);
        await using var pipeline = await StartAsync(clock);
        using var root = pipeline.ApiClient("root");
        using var alice = pipeline.ApiClient("alice");
        var freeze = new { reason = "year-end", starts = now.AddHours(-1), ends = now.AddDays(14), scope = "namespace:shop" };
        using (var bad = await root.PostAsJsonAsync("v1/freezes", freeze with { ends = now.AddHours(-2) }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
            Assert.Contains("the freeze must end after it starts", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await root.PostAsJsonAsync("v1/freezes", freeze with { reason = " " })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.PostAsJsonAsync("v1/freezes", freeze)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await root.PostAsJsonAsync("v1/freezes", freeze)).StatusCode);

        // The proposal still collects its votes; the approved update waits for the freeze's end.
        await ApproveAsync(pipeline, "1.1.0");
        var waiting = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.ScheduledForUtc is not null);
        Assert.Equal((ApprovalState.Approved, now.AddDays(14).UtcDateTime), (waiting.State, waiting.ScheduledForUtc));
        Assert.Equal("frozen until 2027-01-04 10:00Z: year-end", waiting.ScheduleReason);
        Assert.Equal(2, waiting.Votes.Count);

        // Only an Admin lets one update through, and only with a reason.
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.PostAsJsonAsync($"v1/approvals/{waiting.Id}/override", new { reason = "hotfix" })).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await root.PostAsJsonAsync($"v1/approvals/{waiting.Id}/override", new { reason = "" })).StatusCode);
        Assert.Equal(0, pipeline.PatchesOf("shop"));
        Assert.Equal(HttpStatusCode.OK, (await root.PostAsJsonAsync($"v1/approvals/{waiting.Id}/override", new { reason = "security fix CVE-2026-1234" })).StatusCode);
        var applied = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.State == ApprovalState.Applied);
        Assert.Equal(("root", "security fix CVE-2026-1234"), (applied.OverrideBy, applied.OverrideReason));
        Assert.Equal(1, pipeline.PatchesOf("shop"));
        Assert.Equal(HttpStatusCode.Conflict, (await root.PostAsJsonAsync($"v1/approvals/{waiting.Id}/override", new { reason = "again" })).StatusCode);

        // The next update waits again; removing the freeze lets it go at once.
        await pipeline.Pusher.PushAsync("team/shop", "1.2.0");
        await ApproveAsync(pipeline, "1.2.0");
        await pipeline.ApprovalAsync($"{Workload}:1.2.0", a => a.ScheduledForUtc is not null);
        using var freezes = await alice.GetFromJsonAsync<System.Text.Json.JsonDocument>("v1/freezes");
        var id = freezes!.RootElement.EnumerateArray().Single().GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.OK, (await root.DeleteAsync($"v1/freezes/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await root.DeleteAsync($"v1/freezes/{id}")).StatusCode);
        await pipeline.ApprovalAsync($"{Workload}:1.2.0", a => a.State == ApprovalState.Applied);
        Assert.Equal(2, pipeline.PatchesOf("shop"));

        var trail = await pipeline.AuditActionsAsync("");
        Assert.Contains("freeze.added", trail);
        Assert.Contains("apply.override", trail);
        Assert.Contains("freeze.removed", trail);
    }
}

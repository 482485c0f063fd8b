using Bunit;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace KeelPortal.Tests.Console;

/// <summary>
/// The Workloads, Approvals and Notifications pages rendered with bUnit on the portal's real services (SQLite, the real
/// registry, the Kubernetes API test server): fast feedback on what each page says, without a browser.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ConsolePagesTests
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>The input of a MudBlazor field marked with <c>data-testid</c> (on the input itself or around it).</summary>
    private static AngleSharp.Dom.IElement Field<T>(IRenderedComponent<T> rendered, string testId) where T : Microsoft.AspNetCore.Components.IComponent =>
        rendered.Find($"input[data-testid={testId}], textarea[data-testid={testId}], [data-testid={testId}] input, [data-testid={testId}] textarea");

    [Fact]
    public async Task An_automatic_rollbacks_card_links_to_why_the_rollout_failed_and_a_rollback_a_person_asked_for_does_not()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var book = pipeline.Approvals;
        Proposal Rollback(string workload, string by) => new($"deployment/shop/{workload}", "registry.example/shop/web", "1.1.0", "1.0.0", null,
            [new ImageUpdate("app", "registry.example/shop/web:1.0.0")], 1, TimeSpan.FromHours(1), "the rollout of 1.1.0 failed: ProgressDeadlineExceeded", RollbackBy: by);
        await book.ProposeAsync(Rollback("auto", KeelPortal.Audit.AuditTrail.System), _ => true);
        await book.ProposeAsync(Rollback("asked", "alice"), _ => true);
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "alice", Roles.Approver);

        var page = console.Render<ApprovalsPage>();

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-identifier='deployment/shop/auto:1.0.0'] [data-testid=approval-why-failed]")), TimeSpan.FromSeconds(15));
        var link = page.Find("[data-identifier='deployment/shop/auto:1.0.0'] [data-testid=approval-why-failed]");
        Assert.Equal("/workloads/deployment/shop/auto?why=1#why", link.GetAttribute("href"));
        Assert.Equal("Why did 1.1.0 fail? Events, container states", link.TextContent.Trim());
        Assert.Empty(page.FindAll("[data-identifier='deployment/shop/asked:1.0.0'] [data-testid=approval-why-failed]"));
    }

    [Fact]
    public async Task The_workloads_page_says_where_each_workload_stands_and_shows_settings_as_written()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var shop = pipeline.Repository("team/shop");
        var calm = pipeline.Repository("team/calm");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3");
        await pipeline.Pusher.PushAsync("team/calm", "1.0.0");
        pipeline.Deploy("shop", $"{shop}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "2")));
        pipeline.Deploy("broken", $"{shop}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "two")));
        pipeline.Deploy("calm", $"{calm}:1.0.0", Keel(("keel.sh/policy", "patch")));
        pipeline.Deploy("gone", $"{pipeline.Repository("team/gone")}:1.0.0", Keel(("keel.sh/policy", "patch")));
        foreach (var name in new[] { "shop", "broken", "calm", "gone" })
        {
            await pipeline.TrackedAsync($"deployment/shop/{name}");
        }
        await pipeline.Pusher.PushAsync("team/shop", "1.3.0");
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        await planner.PollAsync(shop);
        await planner.PollAsync(calm);
        await planner.PollAsync(pipeline.Repository("team/gone"));
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "victor", Roles.Viewer);

        var all = console.Render<WorkloadsPage>();

        all.WaitForAssertion(() => Assert.Equal(4, all.FindAll("[data-testid=workload-link]").Count), TimeSpan.FromSeconds(10));
        string Row(string name) => all.FindAll("[data-testid=workloads-grid] tbody tr").Single(r => r.QuerySelector("[data-testid=workload-link]")!.TextContent == name).TextContent;
        Assert.Contains("waiting for approval (0 of 2)", Row("shop"), StringComparison.Ordinal);
        Assert.Contains("1.2.3 → 1.3.0", Row("shop"), StringComparison.Ordinal);
        Assert.Contains("settings error", Row("broken"), StringComparison.Ordinal);
        Assert.Contains("two", all.FindAll("[data-testid=workloads-grid] tbody tr").Single(r => r.TextContent.Contains("broken", StringComparison.Ordinal))
            .QuerySelector("[data-testid=workload-approvals]")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("up to date", Row("calm"), StringComparison.Ordinal);
        Assert.Contains("registry unreadable", Row("gone"), StringComparison.Ordinal);
        Assert.Equal("/workloads/deployment/shop/calm", all.FindAll("[data-testid=workload-link]").Single(a => a.TextContent == "calm").GetAttribute("href"));

        var navigation = console.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo("/workloads?status=waiting");
        var waiting = console.Render<WorkloadsPage>();
        waiting.WaitForAssertion(() => Assert.Equal(["shop"], waiting.FindAll("[data-testid=workload-link]").Select(a => a.TextContent)), TimeSpan.FromSeconds(10));

        navigation.NavigateTo("/workloads?q=no-such-workload");
        var nothing = console.Render<WorkloadsPage>();
        nothing.WaitForAssertion(() => Assert.Contains("No workload matches “no-such-workload”", nothing.Find("[data-testid=no-match]").TextContent, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_approval_card_shows_the_jump_the_diff_the_image_facts_and_a_compare_link_and_counts_a_vote()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/shop");
        static Dictionary<string, string> Labels(string revision, string version) => new()
        {
            ["org.opencontainers.image.source"] = "https://github.com/acme/shop",
            ["org.opencontainers.image.revision"] = revision,
            ["org.opencontainers.image.version"] = version,
        };
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3", new TestImage(Labels: Labels("abc123", "1.2.3")));
        pipeline.Deploy("shop", $"{repository}:1.2.3",
            Keel(("keel.sh/policy", "major"), ("keel.sh/releaseNotes", "https://example.com/shop/releases")), labels: Keel(("keel.sh/approvals", "2")));
        await pipeline.TrackedAsync("deployment/shop/shop");
        await pipeline.Pusher.PushAsync("team/shop", "2.0.0", new TestImage(Created: new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero), Labels: Labels("def456", "2.0.0")));
        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync(repository);
        await pipeline.ApprovalAsync("deployment/shop/shop:2.0.0", a => a.State == ApprovalState.Pending);
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "alice", Roles.Approver);

        var page = console.Render<ApprovalsPage>();

        var card = "[data-identifier='deployment/shop/shop:2.0.0']";
        page.WaitForAssertion(() => Assert.NotNull(page.Find($"{card} [data-testid=approval-compare]")), TimeSpan.FromSeconds(15));
        Assert.Equal("major version", page.Find($"{card} [data-testid=approval-jump]").TextContent.Trim());
        var diff = page.Find($"{card} [data-testid=approval-diff]").TextContent;
        Assert.Contains($"app: {repository}:1.2.3", diff, StringComparison.Ordinal);
        Assert.Contains($"app: {repository}:2.0.0", diff, StringComparison.Ordinal);
        Assert.Equal("https://github.com/acme/shop/compare/abc123...def456", page.Find($"{card} [data-testid=approval-compare]").GetAttribute("href"));
        Assert.Equal("https://example.com/shop/releases", page.Find($"{card} [data-testid=approval-notes]").GetAttribute("href"));
        var image = page.Find($"{card} [data-testid=approval-image]").TextContent;
        Assert.Contains("version label 2.0.0", image, StringComparison.Ordinal);
        Assert.Contains("revision def456", image, StringComparison.Ordinal);
        Assert.Contains("digest sha256:", image, StringComparison.Ordinal);
        Assert.Equal("/workloads/deployment/shop/shop", page.Find($"{card} [data-testid=approval-workload]").GetAttribute("href"));

        page.Find($"{card} [data-testid=approve]").Click();

        page.WaitForAssertion(() => Assert.Contains("1 of 2 votes: alice", page.Find($"{card} [data-testid=votes]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var approval = await pipeline.Approvals.FindAsync("deployment/shop/shop:2.0.0");
        Assert.Equal(["alice"], approval!.Votes.Select(v => v.Voter));
    }

    [Fact]
    public async Task Selecting_all_and_rejecting_with_a_comment_declines_every_shown_update_and_history_says_who_voted_what()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3");
        pipeline.Deploy("one", $"{repository}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "1")));
        pipeline.Deploy("two", $"{repository}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/one");
        await pipeline.TrackedAsync("deployment/shop/two");
        await pipeline.Pusher.PushAsync("team/shop", "1.3.0");
        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync(repository);
        await pipeline.ApprovalAsync("deployment/shop/one:1.3.0", a => a.State == ApprovalState.Pending);
        await pipeline.ApprovalAsync("deployment/shop/two:1.3.0", a => a.State == ApprovalState.Pending);
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "alice", Roles.Approver);
        var dialogs = console.Render<MudDialogProvider>();
        var page = console.Render<ApprovalsPage>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=pending-approval]").Count), TimeSpan.FromSeconds(10));

        // The view is in the address: a link with a workload filter and grouping shows what its sender saw...
        var navigation = console.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo("/approvals?workload=deployment/shop/one&group=workload");
        var shared = console.Render<ApprovalsPage>();
        shared.WaitForAssertion(() => Assert.Single(shared.FindAll("[data-testid=pending-approval]")), TimeSpan.FromSeconds(10));
        Assert.Equal("deployment/shop/one", shared.Find("[data-testid=approval-group]").TextContent.Trim());
        // ...and choosing another view writes it there.
        var grouping = shared.FindComponents<MudSelect<string>>().Single(s => s.Instance.Label == "Group by");
        await shared.InvokeAsync(() => grouping.Instance.ValueChanged.InvokeAsync("namespace"));
        Assert.Contains("group=namespace", navigation.Uri, StringComparison.Ordinal);
        Assert.Contains("workload=deployment", navigation.Uri, StringComparison.Ordinal);
        // Values the page does not know (a grouping, a state) show it as plain as it comes.
        navigation.NavigateTo("/approvals?group=%3Cscript%3E&state=Nope&ns=no-such-namespace");
        var odd = console.Render<ApprovalsPage>();
        odd.WaitForAssertion(() => Assert.Contains("No pending approval matches the filters.", odd.Markup, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Empty(odd.FindAll("[data-testid=approval-group]"));
        Assert.DoesNotContain("<script>", odd.Markup, StringComparison.Ordinal);
        navigation.NavigateTo("/approvals");

        Field(page, "select-all").Change(true);
        page.WaitForAssertion(() => Assert.Contains("Reject 2 selected", page.Find("[data-testid=bulk-reject]").TextContent, StringComparison.Ordinal));
        page.Find("[data-testid=bulk-reject]").Click();
        dialogs.WaitForAssertion(() => Field(dialogs, "reject-comment").Change("not before the release freeze"));
        dialogs.Find("[data-testid=confirm-reject]").Click();

        long rejectedId = 0;
        foreach (var id in new[] { "deployment/shop/one:1.3.0", "deployment/shop/two:1.3.0" })
        {
            var rejected = await pipeline.ApprovalAsync(id, a => a.State == ApprovalState.Rejected);
            rejectedId = rejected.Id;
            Assert.Equal(("alice", false, "not before the release freeze"), (rejected.Votes[0].Voter, rejected.Votes[0].Approve, rejected.Votes[0].Comment));
        }
        console.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo("/approvals?tab=history");
        var history = console.Render<ApprovalsPage>();
        history.WaitForAssertion(() => Assert.Equal(2, history.FindAll("[data-testid=history-votes]").Count(v => v.TextContent.Contains("alice rejected (“not before the release freeze”)", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10));
        // The history's state filter is in the address too.
        navigation.NavigateTo("/approvals?tab=history&state=Applied");
        var applied = console.Render<ApprovalsPage>();
        applied.WaitForAssertion(() => Assert.Contains("No finished approvals yet.", applied.Find("[data-testid=history]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var state = applied.FindComponents<MudSelect<string>>().Single(s => s.Instance.Label == "State");
        await applied.InvokeAsync(() => state.Instance.ValueChanged.InvokeAsync("Rejected"));
        Assert.Contains("state=Rejected", navigation.Uri, StringComparison.Ordinal);

        // A link to an approval that is no longer pending (a notification's) lands on its history entry, highlighted.
        console.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo($"/approvals#approval-{rejectedId}");
        var linked = console.Render<ApprovalsPage>();
        linked.WaitForAssertion(() => Assert.Contains("alice rejected", linked.Find("tr.highlighted").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.NotNull(linked.Find($"tr.highlighted #approval-{rejectedId}"));
    }

    [Fact]
    public async Task An_approver_holds_releases_and_skips_on_the_workload_page_and_a_viewer_only_reads()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var shop = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3");
        pipeline.Deploy("shop", $"{shop}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.3.0");
        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync(shop);
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "alice", Roles.Approver);
        var page = console.Render<WorkloadDetailPage>(p => p.Add(x => x.Kind, "deployment").Add(x => x.Namespace, "shop").Add(x => x.Name, "shop"));
        page.WaitForAssertion(() => Assert.Contains("Not held", page.Find("[data-testid=hold-status]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        page.Find("[data-testid=hold]").Click();
        page.WaitForAssertion(() => Assert.Contains("say why", page.Find("[data-testid=hold-message]").TextContent, StringComparison.Ordinal));
        Field(page, "hold-reason").Change("freeze for the sale");
        page.Find("[data-testid=hold]").Click();

        page.WaitForAssertion(() => Assert.Contains("held by alice until released: freeze for the sale", page.Find("[data-testid=hold-status]").TextContent, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.Equal(ApprovalState.Superseded, (await pipeline.Approvals.FindAsync("deployment/shop/shop:1.3.0"))!.State);
        page.Find("[data-testid=release-hold]").Click();
        page.WaitForAssertion(() => Assert.Contains("Not held", page.Find("[data-testid=hold-status]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        Field(page, "skip-version").Change("1.3.0");
        Field(page, "skip-reason").Change("breaks the checkout");
        page.Find("[data-testid=skip]").Click();
        page.WaitForAssertion(() => Assert.Contains("breaks the checkout", page.Find("[data-testid=skips]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Equal("1.3.0", (await pipeline.Portal.Services.GetRequiredService<Holds>().SkipsAsync("deployment/shop/shop")).Single().Version);

        await using var viewer = ConsoleContext.Create(pipeline.Portal.Services, "victor", Roles.Viewer);
        var read = viewer.Render<WorkloadDetailPage>(p => p.Add(x => x.Kind, "deployment").Add(x => x.Namespace, "shop").Add(x => x.Name, "shop"));
        read.WaitForAssertion(() => Assert.Contains("breaks the checkout", read.Find("[data-testid=skips]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Empty(read.FindAll("[data-testid=hold], [data-testid=skip], [data-testid=release-hold]"));
    }

    [Fact]
    public async Task An_admin_defines_a_window_and_a_freeze_an_update_waits_on_the_approvals_page_and_the_admin_lets_it_through()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var shop = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3");
        pipeline.Deploy("shop", $"{shop}:1.2.3", Keel(("keel.sh/policy", "minor"), ("keel.sh/windows", "night,nosuch")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/shop");
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "root", Roles.Admin);
        var delivery = console.Render<KeelPortal.Delivery.DeliveryPage>();

        // A bad time zone is refused with the reason; a good window shows whether it is open now.
        Field(delivery, "window-name").Change("night");
        Field(delivery, "window-days").Change("daily");
        Field(delivery, "window-hours").Change("02:00-03:00");
        Field(delivery, "window-zone").Change("Nowhere/Land");
        Field(delivery, "window-scope").Change("named");
        delivery.Find("[data-testid=save-window]").Click();
        delivery.WaitForAssertion(() => Assert.Contains("'Nowhere/Land' is not a time zone", delivery.Find("[data-testid=window-form]").TextContent, StringComparison.Ordinal));
        Field(delivery, "window-zone").Change("UTC");
        delivery.Find("[data-testid=save-window]").Click();
        delivery.WaitForAssertion(() => Assert.Contains("daily 02:00-03:00 UTC", delivery.Find("[data-testid=windows]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Matches("open|closed", delivery.Find("[data-testid=window-now]").TextContent);

        Field(delivery, "freeze-reason").Change("sale weekend");
        var today = DateTime.UtcNow.Date;
        var until = today.AddDays(300);
        Field(delivery, "freeze-starts").Change(today.AddDays(-1).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        Field(delivery, "freeze-ends").Change(until.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        Field(delivery, "freeze-scope").Change("namespace:shop");
        delivery.Find("[data-testid=add-freeze]").Click();
        delivery.WaitForAssertion(() => Assert.Contains("in force", delivery.Find("[data-testid=freeze-now]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        var detail = console.Render<WorkloadDetailPage>(p => p.Add(x => x.Kind, "deployment").Add(x => x.Namespace, "shop").Add(x => x.Name, "shop"));
        detail.WaitForAssertion(() => Assert.Contains("Windows: night (keel.sh/windows names nosuch, which is not defined). An approved update would wait until " + until.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            System.Text.RegularExpressions.Regex.Replace(detail.Find("[data-testid=delivery-verdict]").TextContent, @"\s+", " "), StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        // Sentences and the link are apart as a reader sees them ("…sale weekend. Change windows and freezes").
        Assert.EndsWith("sale weekend. Change windows and freezes", detail.Find("[data-testid=delivery-verdict]").TextContent.Trim(), StringComparison.Ordinal);

        await pipeline.Pusher.PushAsync("team/shop", "1.3.0");
        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync(shop);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await pipeline.VoteAsync("alice", "deployment/shop/shop:1.3.0")).StatusCode);
        await pipeline.ApprovalAsync("deployment/shop/shop:1.3.0", a => a.ScheduledForUtc is not null);
        var dialogs = console.Render<MudDialogProvider>();
        var approvals = console.Render<ApprovalsPage>();
        approvals.WaitForAssertion(() => Assert.Contains($"scheduled for {until:yyyy-MM-dd} 02:00 UTC", // the freeze's end, then the night window's opening
            System.Text.RegularExpressions.Regex.Replace(approvals.Find("[data-testid=scheduled-approval]").TextContent, @"\s+", " "), StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        approvals.Find("[data-testid=override]").Click();
        dialogs.WaitForAssertion(() => Field(dialogs, "reason-text").Input("hotfix for the checkout"));
        dialogs.Find("[data-testid=confirm-reason]").Click();
        var applied = await pipeline.ApprovalAsync("deployment/shop/shop:1.3.0", a => a.State == ApprovalState.Applied);
        Assert.Equal(("root", "hotfix for the checkout"), (applied.OverrideBy, applied.OverrideReason));
        Assert.Equal(1, pipeline.PatchesOf("shop"));

        await using var viewer = ConsoleContext.Create(pipeline.Portal.Services, "victor", Roles.Viewer);
        var read = viewer.Render<KeelPortal.Delivery.DeliveryPage>();
        read.WaitForAssertion(() => Assert.Contains("sale weekend", read.Find("[data-testid=freezes]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Empty(read.FindAll("[data-testid=window-form], [data-testid=freeze-form]"));
    }

    [Fact]
    public async Task The_settings_form_shows_an_unreadable_stored_value_beside_its_empty_field_instead_of_a_number_nobody_chose()
    {
        await using var portal = new PortalFactory();
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        var workload = new WorkloadObject(WorkloadKind.Deployment, "shop", "web", "7", 1, new Dictionary<string, string> { ["keel.sh/approvals"] = "two" },
            new Dictionary<string, string> { ["keel.sh/policy"] = "minor" }, new k8s.Models.V1PodTemplateSpec(), new Dictionary<string, string>(),
            new RolloutStatus(1, 1, 1, 1, 1, 1, null, null, null, null));

        var form = console.Render<WorkloadSettingsForm>(p => p.Add(x => x.WorkloadId, "deployment/shop/web").Add(x => x.Current, workload));

        // The field is empty, and its own error line (beside it, not below the form) quotes what is stored.
        var approvals = form.Find("input[data-testid=edit-approvals]");
        Assert.Equal("", approvals.GetAttribute("value") ?? "");
        var field = approvals.Closest(".mud-input-control")!;
        Assert.Contains("keel.sh/approvals: 'two' is not a whole number of votes", field.TextContent, StringComparison.Ordinal);
        Assert.Contains("Saving leaves it as it is unless you enter a value", field.TextContent, StringComparison.Ordinal);
        Assert.Equal("24", form.Find("input[data-testid=edit-deadline]").GetAttribute("value"));
    }

    [Fact]
    public async Task The_notifications_page_lists_channels_with_their_kind_default_flag_and_masked_target()
    {
        await using var portal = new PortalFactory();
        var directory = portal.Services.GetRequiredService<ChannelDirectory>();
        await portal.EnsureUserAsync("root", Roles.Admin);
        var saved = await directory.SaveAsync(new ChannelInput(null, "team-chat", ChannelType.Slack, "https://hooks.slack.com/services/T000/B000/XXXXSECRET", null, null, null,
            NotificationEvents.All, NotificationLevel.Info, IsDefault: false, Enabled: true), "root");
        Assert.True(saved.Succeeded, saved.Error);
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);

        var page = console.Render<NotificationsPage>();

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=channels] tbody tr")), TimeSpan.FromSeconds(10));
        var row = page.Find("[data-testid=channels] tbody tr").TextContent;
        Assert.Contains("team-chat", row, StringComparison.Ordinal);
        Assert.Contains("Slack", row, StringComparison.Ordinal);
        Assert.DoesNotContain("XXXXSECRET", page.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_links_a_chat_user_to_an_account_on_the_users_page_and_a_bad_id_is_refused()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        await portal.EnsureUserAsync("alice", Roles.Approver);
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        console.Render<MudSnackbarProvider>();
        var page = console.Render<KeelPortal.Chat.ChatLinksPanel>();

        Field(page, "chat-link-id").Change("U0 ALICE");
        Field(page, "chat-link-user").Change("alice");
        page.Find("[data-testid=chat-link-add]").Click();
        Assert.Empty(await portal.Services.GetRequiredService<KeelPortal.Chat.ChatLinks>().AllAsync());
        Field(page, "chat-link-id").Change("U0ALICE");
        page.Find("[data-testid=chat-link-add]").Click();

        page.WaitForAssertion(() => Assert.Contains("U0ALICE", page.Find("[data-testid=chat-links]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Equal("alice", await portal.Services.GetRequiredService<KeelPortal.Chat.ChatLinks>().UserOfAsync("slack", "U0ALICE"));
    }

    [Fact]
    public async Task The_users_page_shows_each_tokens_name_last_use_and_expiry()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        await portal.EnsureUserAsync("ci-bot", Roles.Viewer);
        var accounts = portal.Services.GetRequiredService<AccountService>();
        var now = portal.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
        await accounts.CreateTokenAsync("ci-bot", "release pipeline", "root", now.AddDays(30).AddHours(1));
        var used = await accounts.CreateTokenAsync("ci-bot", "dashboard", "root");
        await accounts.AuthenticateTokenAsync(used.Token!, "Bearer");
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);

        var page = console.Render<KeelPortal.Access.UsersPage>();

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=token]").Count), TimeSpan.FromSeconds(10));
        var tokens = page.FindAll("[data-testid=token]").Select(t => t.TextContent).ToList();
        Assert.Contains(tokens, t => t.Contains("release pipeline", StringComparison.Ordinal) && t.Contains("never used", StringComparison.Ordinal)
            && t.Contains("expires in 30 d", StringComparison.Ordinal));
        Assert.Contains(tokens, t => t.Contains("dashboard", StringComparison.Ordinal) && t.Contains("used less than a minute ago", StringComparison.Ordinal)
            && t.Contains("no expiry", StringComparison.Ordinal));
        Assert.NotEmpty(page.FindAll("[data-testid=new-password-button]"));
    }

    [Theory]
    [InlineData("/workloads?page=abc&desc=maybe&status=bogus&sort=evil&kind=Pod&ns=%00&q=%25_")]
    [InlineData("/workloads?page=-4&page=99999999999")]
    [InlineData("/approvals?id=abc&tab=%3Cscript%3E")]
    [InlineData("/approvals?id=-1")]
    public async Task Addresses_with_values_that_do_not_parse_show_the_page_with_defaults(string address)
    {
        await using var portal = new PortalFactory();
        using var client = await portal.SignedInClientAsync();

        var response = await client.GetAsync(address);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("<script>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

using AngleSharp.Dom;
using Bunit;
using KeelPortal.Access;
using KeelPortal.Notifications;
using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace KeelPortal.Tests.Console;

/// <summary>
/// Every form checks all its fields at once: each error shows in its own field's helper line, a line under the form says
/// how many need a fix, focus moves to the first wrong field, and nothing is written.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class FormErrorsTests
{
    private static IElement Field<T>(IRenderedComponent<T> rendered, string testId) where T : IComponent =>
        rendered.Find($"input[data-testid={testId}], textarea[data-testid={testId}], [data-testid={testId}] input, [data-testid={testId}] textarea");

    /// <summary>Each field shows its error in its own helper line, marked as an error.</summary>
    private static void ErrorsBeside<T>(IRenderedComponent<T> rendered, params (string TestId, string Error)[] fields) where T : IComponent
    {
        foreach (var (testId, error) in fields)
        {
            var control = Field(rendered, testId).Closest(".mud-input-control")!;
            Assert.Contains(error, control.TextContent, StringComparison.Ordinal);
            Assert.Contains("mud-input-error", control.InnerHtml, StringComparison.Ordinal);
        }
    }

    /// <summary>The field focus was last moved to, by its <c>data-testid</c>.</summary>
    private static string? Focused<T>(BunitContext console, IRenderedComponent<T> rendered) where T : class, IComponent
    {
        var focus = console.JSInterop.Invocations.LastOrDefault(i => i.Identifier == "Blazor._internal.domWrapper.focus");
        if (focus.Arguments is not { Count: > 0 } arguments || arguments[0] is not ElementReference element)
        {
            return null;
        }
        // Each MudBlazor input keeps the reference to its <input>; the form's data-testid reaches it with the other attributes.
        var inputs = rendered.FindComponents<MudInput<string>>().Select(i => (i.Instance.ElementReference, i.Instance.UserAttributes))
            .Concat(rendered.FindComponents<MudInput<int?>>().Select(i => (i.Instance.ElementReference, i.Instance.UserAttributes)));
        return inputs.FirstOrDefault(i => i.ElementReference.Id == element.Id).UserAttributes?.GetValueOrDefault("data-testid") as string;
    }

    [Fact]
    public async Task The_window_form_shows_every_error_beside_its_field_at_once_and_writes_nothing()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "root", Roles.Admin);
        var delivery = console.Render<KeelPortal.Delivery.DeliveryPage>();

        Field(delivery, "window-name").Change("Office Hours!");
        Field(delivery, "window-days").Change("Funday");
        Field(delivery, "window-hours").Change("25:00-26:00");
        Field(delivery, "window-zone").Change("Nowhere/Land");
        Field(delivery, "window-scope").Change("planet:mars");
        delivery.Find("[data-testid=save-window]").Click();

        delivery.WaitForAssertion(() => Assert.Equal("5 fields need a fix: see beside each.", delivery.Find("[data-testid=window-message]").TextContent.Trim()));
        ErrorsBeside(delivery, ("window-name", "name the window"), ("window-days", "'Funday' is not a day"), ("window-hours", "25:00"),
            ("window-zone", "'Nowhere/Land' is not a time zone"), ("window-scope", "planet:mars"));
        Assert.Equal("window-name", Focused(console, delivery));
        Assert.Empty(delivery.FindAll("[data-testid=delivery-message]"));
        Assert.Empty((await pipeline.Portal.Services.GetRequiredService<KeelPortal.Delivery.DeliverySchedule>().AllAsync()).Windows);
        Assert.DoesNotContain("delivery.window", await pipeline.AuditActionsAsync("window/"));
    }

    [Fact]
    public async Task The_freeze_form_names_every_wrong_field_at_once_and_focuses_the_first()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "root", Roles.Admin);
        var delivery = console.Render<KeelPortal.Delivery.DeliveryPage>();

        Field(delivery, "freeze-reason").Change("");
        Field(delivery, "freeze-starts").Change("next tuesday");
        Field(delivery, "freeze-scope").Change("planet:mars");
        delivery.Find("[data-testid=add-freeze]").Click();

        delivery.WaitForAssertion(() => Assert.Equal("4 fields need a fix: see beside each.", delivery.Find("[data-testid=freeze-message]").TextContent.Trim()));
        ErrorsBeside(delivery, ("freeze-reason", "reason"), ("freeze-starts", "'next tuesday' is not a date and time"),
            ("freeze-ends", "give the freeze an end"), ("freeze-scope", "planet:mars"));
        Assert.Equal("freeze-reason", Focused(console, delivery));
        Assert.Empty(delivery.FindAll("[data-testid=delivery-message]"));
        Assert.Empty((await pipeline.Portal.Services.GetRequiredService<KeelPortal.Delivery.DeliverySchedule>().AllAsync()).Freezes);

        // Right dates, still a wrong scope: the schedule itself names the one field left, and focus goes there.
        Field(delivery, "freeze-reason").Change("sale weekend");
        Field(delivery, "freeze-starts").Change("2030-01-01T00:00");
        Field(delivery, "freeze-ends").Change("2029-12-31T00:00");
        delivery.Find("[data-testid=add-freeze]").Click();
        delivery.WaitForAssertion(() => Assert.Equal("2 fields need a fix: see beside each.", delivery.Find("[data-testid=freeze-message]").TextContent.Trim()));
        ErrorsBeside(delivery, ("freeze-ends", "the freeze must end after it starts"), ("freeze-scope", "planet:mars"));
        Assert.Equal("freeze-ends", Focused(console, delivery));
        Assert.Empty((await pipeline.Portal.Services.GetRequiredService<KeelPortal.Delivery.DeliverySchedule>().AllAsync()).Freezes);
    }

    [Fact]
    public async Task The_add_person_form_names_the_user_name_and_the_password_together_and_adds_nobody()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        console.Render<MudSnackbarProvider>();
        var page = console.Render<UsersPage>();
        page.WaitForAssertion(() => page.Find("[data-testid=add-user]"), TimeSpan.FromSeconds(10));

        // Identity alone stops at the password; here the taken name is named beside its field as well.
        Field(page, "new-user-name").Change("root");
        Field(page, "new-user-password").Change("short");
        page.Find("[data-testid=add-user]").Click();

        page.WaitForAssertion(() => Assert.Equal("2 fields need a fix: see beside each.", page.Find("[data-testid=new-user-error]").TextContent.Trim()));
        ErrorsBeside(page, ("new-user-name", "root"), ("new-user-password", "12"));
        Assert.Equal("new-user-name", Focused(console, page));
        Assert.Single(await portal.Services.GetRequiredService<AccountService>().ListAsync());
    }

    [Fact]
    public async Task The_token_dialog_names_a_missing_name_beside_its_field_and_stays_open()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        console.Render<MudSnackbarProvider>();
        var dialogs = console.Render<MudDialogProvider>();
        var page = console.Render<UsersPage>();
        page.WaitForAssertion(() => page.Find("[data-testid=add-user]"), TimeSpan.FromSeconds(10));

        page.FindAll("button").First(b => b.TextContent.Trim() == "New token").Click();
        dialogs.WaitForAssertion(() => dialogs.Find("[data-testid=token-create]").Click());

        dialogs.WaitForAssertion(() => ErrorsBeside(dialogs, ("token-name", "give the token a name")));
        Assert.Equal("token-name", Focused(console, dialogs));
        Assert.Empty((await portal.Services.GetRequiredService<AccountService>().ListAsync()).Single().Tokens);
    }

    [Fact]
    public async Task The_registry_credential_form_names_every_missing_field_at_once()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        console.Render<MudSnackbarProvider>();
        var dialogs = console.Render<MudDialogProvider>();
        var page = console.Render<RegistriesPage>();
        page.WaitForAssertion(() => page.Find("[data-testid=credential-save]"), TimeSpan.FromSeconds(10));

        Field(page, "credential-host").Change("not a host");
        page.Find("[data-testid=credential-save]").Click();

        page.WaitForAssertion(() => Assert.Equal("3 fields need a fix: see beside each.", page.Find("[data-testid=credential-error]").TextContent.Trim()));
        ErrorsBeside(page, ("credential-host", "'not a host' is not a registry host"), ("credential-user", "Enter the user name"),
            ("credential-password", "Enter the password or access token"));
        Assert.Equal("credential-host", Focused(console, page));
        Assert.Empty(await portal.Services.GetRequiredService<CredentialStore>().ListAsync());
    }

    [Fact]
    public async Task The_channel_dialog_names_every_wrong_field_at_once_and_saves_nothing()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("root", Roles.Admin);
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        console.Render<MudSnackbarProvider>();
        var dialogs = console.Render<MudDialogProvider>();
        var page = console.Render<NotificationsPage>();
        page.WaitForAssertion(() => page.Find("[data-testid=add-channel]").Click(), TimeSpan.FromSeconds(10));

        dialogs.WaitForAssertion(() => Field(dialogs, "channel-name").Change("Bad Name!"));
        Field(dialogs, "channel-icon").Change("ftp://icons.example.com/a.png");
        dialogs.Find("[data-testid=channel-save]").Click();

        dialogs.WaitForAssertion(() => Assert.Equal("3 fields need a fix: see beside each.", dialogs.Find("[data-testid=channel-error]").TextContent.Trim()));
        ErrorsBeside(dialogs, ("channel-name", "Bad Name!"), ("channel-target", "Enter the Slack incoming-webhook URL"), ("channel-icon", "absolute http:// or https:// URL"));
        Assert.Equal("channel-name", Focused(console, dialogs));
        Assert.Empty(await portal.Services.GetRequiredService<ChannelDirectory>().ListAsync());
    }

    [Fact]
    public async Task The_settings_form_shows_each_refused_key_beside_its_field_and_focuses_the_first()
    {
        await using var portal = new PortalFactory();
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        var workload = new WorkloadObject(WorkloadKind.Deployment, "shop", "web", "7", 1, new Dictionary<string, string>(),
            new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll" }, new k8s.Models.V1PodTemplateSpec(),
            new Dictionary<string, string>(), new RolloutStatus(1, 1, 1, 1, 1, 1, null, null, null, null));
        var form = console.Render<WorkloadSettingsForm>(p => p.Add(x => x.WorkloadId, "deployment/shop/web").Add(x => x.Current, workload));

        var policy = form.FindComponents<MudSelect<string>>().Single(s => s.Instance.Label == "Policy (keel.sh/policy)");
        await form.InvokeAsync(() => policy.Instance.ValueChanged.InvokeAsync("regexp"));
        Field(form, "edit-pattern").Input("(unclosed");
        Field(form, "edit-schedule").Input("every now and then");
        form.Find("input[data-testid=edit-rollback], [data-testid=edit-rollback] input").Change(true);
        form.WaitForAssertion(() => Field(form, "edit-rollback-after").Input("soonish"));
        form.Find("[data-testid=save-settings]").Click();

        form.WaitForAssertion(() => Assert.Equal("3 fields need a fix: see beside each.", form.Find("[data-testid=settings-summary]").TextContent.Trim()));
        ErrorsBeside(form, ("edit-pattern", "is not a usable regular expression"), ("edit-schedule", "'every now and then' is not a valid schedule"),
            ("edit-rollback-after", "soonish"));
        Assert.Equal("edit-pattern", Focused(console, form));
        Assert.Empty(form.FindAll("[data-testid=settings-review]"));
    }
}

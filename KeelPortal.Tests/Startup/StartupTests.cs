using System.Net;
using System.Text.Json;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Startup;

[Collection(AppHosts.Name)]
public sealed class StartupTests
{
    [Fact]
    public async Task Boots_with_no_configuration_at_all_and_keeps_its_data_under_the_content_root()
    {
        var emptyRoot = Directory.CreateTempSubdirectory("keelportal-empty-").FullName;
        await using var portal = new PortalFactory(contentRoot: emptyRoot);
        using var client = portal.CreateClient();

        var ready = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(File.Exists(Path.Combine(emptyRoot, "data", "keelportal.db")));
        Assert.True(File.Exists(Path.Combine(emptyRoot, "data", "hangfire.db")));
    }

    [Fact]
    public async Task Migrates_and_reports_ready_and_alive()
    {
        await using var portal = new PortalFactory();
        using var client = portal.CreateClient();

        var live = await client.GetAsync("/healthz");
        var ready = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Not_ready_while_the_database_cannot_be_opened()
    {
        await using var portal = new PortalFactory();
        using var client = portal.CreateClient();
        File.Delete(Path.Combine(portal.DataDirectory, "portal.db"));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.CreateDirectory(Path.Combine(portal.DataDirectory, "portal.db"));

        var ready = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("database", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/", "Overview")]
    [InlineData("/workloads", "No tracked workloads")]
    [InlineData("/approvals", "Nothing waiting for approval")]
    [InlineData("/notifications", "No notification channels")]
    [InlineData("/registries", "No registry contacted yet")]
    [InlineData("/audit", "signin")]
    public async Task Every_page_renders_in_the_shell_with_an_empty_state(string path, string text)
    {
        await using var portal = new PortalFactory();
        using var client = await portal.SignedInClientAsync();

        var html = await client.GetStringAsync(path);

        Assert.Contains("KeelPortal", html, StringComparison.Ordinal);
        Assert.Contains(text, html, StringComparison.Ordinal);
        Assert.Contains("href=\"workloads\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_jobs_dashboard_is_for_administrators_only()
    {
        await using var portal = new PortalFactory();
        using var admin = await portal.SignedInClientAsync("admin", KeelPortal.Access.Roles.Admin);
        using var approver = await portal.SignedInClientAsync("approver", KeelPortal.Access.Roles.Approver);
        using var anonymous = portal.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var forAdmin = await admin.GetAsync("/hangfire");
        var forApprover = await approver.GetAsync("/hangfire");
        var forAnonymous = await anonymous.GetAsync("/hangfire");

        Assert.Equal(HttpStatusCode.OK, forAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forApprover.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forAnonymous.StatusCode);
    }

    [Fact]
    public async Task Pages_redirect_to_sign_in_and_wrong_passwords_are_refused()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("alice", KeelPortal.Access.Roles.Viewer);
        using var client = portal.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var page = await client.GetAsync("/approvals");
        var wrong = await SignIn.PostSignInAsync(client, "alice", "not-the-password");
        var health = await client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/signin?", page.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        Assert.Equal("/signin?error=wrong&returnUrl=%2F", wrong.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Invalid_options_stop_startup_and_every_problem_names_its_key()
    {
        await using var portal = new PortalFactory()
            .With("Data:ConnectionString", "not a connection string")
            .With("Jobs:WorkerCount", "0")
            .With("Jobs:QueuePollInterval", "00:10:00");

        var report = portal.RefusedSettingsReport();
        Assert.Contains("the configuration has 3 problem(s)", report, StringComparison.Ordinal);
        Assert.Contains("Data:ConnectionString is not a valid SQLite connection string", report, StringComparison.Ordinal);
        Assert.Contains("Jobs:WorkerCount must be between 1 and 100", report, StringComparison.Ordinal);
        Assert.Contains("Jobs:QueuePollInterval must be between", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_burst_setting_out_of_range_stops_startup_and_names_its_key()
    {
        await using var portal = new PortalFactory()
            .With("Triggers:WebhookBurstRate", "-1")
            .With("Triggers:WebhookBurstDelay", "00:05:00");

        var report = portal.RefusedSettingsReport();
        Assert.Contains("Triggers:WebhookBurstRate must be between 0 (off) and 100000", report, StringComparison.Ordinal);
        Assert.Contains("Triggers:WebhookBurstDelay must be between 00:00:00 and 00:00:50", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_window_or_freeze_in_configuration_that_cannot_be_read_stops_startup_and_names_its_key()
    {
        // Left out, such a window would let the updates it holds back go out at any time.
        await using var portal = new PortalFactory()
            .With("Delivery:Windows:0:Name", "office-hours").With("Delivery:Windows:0:Days", "Mon-Thu")
            .With("Delivery:Windows:0:Hours", "09:00-16:00").With("Delivery:Windows:0:TimeZone", "Mars/Olympus_Mons")
            .With("Delivery:Windows:1:Name", "nights").With("Delivery:Windows:1:Days", "Mon-Fri").With("Delivery:Windows:1:Hours", "22:00-23:00")
            .With("Delivery:Windows:1:TimeZone", "UTC").With("Delivery:Windows:1:Scope", "global")
            .With("Delivery:Windows:2:Name", "nights").With("Delivery:Windows:2:Days", "Sat").With("Delivery:Windows:2:Hours", "22:00-23:00")
            .With("Delivery:Windows:2:TimeZone", "UTC").With("Delivery:Windows:2:Scope", "global")
            .With("Delivery:Freezes:0:Reason", "year-end").With("Delivery:Freezes:0:Starts", "2027-01-04T00:00:00+01:00")
            .With("Delivery:Freezes:0:Ends", "2026-12-21T00:00:00+01:00");

        var report = portal.RefusedSettingsReport();
        Assert.Contains("the configuration has 3 problem(s)", report, StringComparison.Ordinal);
        Assert.Contains("Delivery:Windows:0 cannot be read: ", report, StringComparison.Ordinal);
        Assert.Contains("Mars/Olympus_Mons", report, StringComparison.Ordinal);
        Assert.Contains("Delivery:Windows:2 repeats the name nights", report, StringComparison.Ordinal);
        Assert.Contains("Delivery:Freezes:0 cannot be read: give Starts and Ends, Ends after Starts", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_modes_are_reported_with_every_other_problem_and_modes_read_in_any_case()
    {
        await using var portal = new PortalFactory()
            .With("Data:Provider", "mysql")
            .With("Workloads:LeaderElection", "2")
            .With("Jobs:WorkerCount", "0");

        var report = portal.RefusedSettingsReport();
        Assert.Contains("the configuration has 3 problem(s)", report, StringComparison.Ordinal);
        Assert.Contains("Data:Provider must be sqlite or postgres.", report, StringComparison.Ordinal);
        Assert.Contains("Workloads:LeaderElection must be auto, on or off.", report, StringComparison.Ordinal);

        await using var upper = new PortalFactory().With("Data:Provider", "SQLite").With("Workloads:LeaderElection", "OFF");
        var options = ((Microsoft.Extensions.Options.IOptions<KeelPortal.Workloads.WorkloadsOptions>)upper.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<KeelPortal.Workloads.WorkloadsOptions>))!).Value;
        Assert.Equal(KeelPortal.Workloads.LeaderElectionMode.Off, options.LeaderElection);
    }

    [Theory]
    [InlineData("mysql", "Server=db", "Data:Provider must be sqlite or postgres.")]
    [InlineData("postgres", "Data Source=data/keelportal.db", "Data:ConnectionString is not a valid PostgreSQL connection string")]
    public async Task A_wrong_provider_or_a_connection_string_for_another_provider_stops_startup(string provider, string connectionString, string message)
    {
        await using var portal = new PortalFactory().With("Data:Provider", provider).With("Data:ConnectionString", connectionString);

        var report = portal.RefusedSettingsReport();
        Assert.Contains(message, report, StringComparison.Ordinal);
    }
}

using System.Text;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Helm;
using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Triggers;
using KeelPortal.Workloads;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KeelPortal.Tests.Data;

/// <summary>Keel's environment variables: each one is taken as the setting it means, or start-up stops naming it.</summary>
[Collection(AppHosts.Name)]
public sealed class KeelEnvironmentTests
{
    /// <summary>Every variable Keel's own source reads (keel-hq/keel: <c>cmd/keel</c>, <c>constants</c>, the notification and auth packages).</summary>
    public static TheoryData<string> KeelsVariables() =>
    [
        "AUTHENTICATED_WEBHOOKS", "AUTH_MODE", "AUTH_PROXY_LOGOUT_URL", "AUTH_PROXY_USER_HEADER", "BASIC_AUTH_PASSWORD", "BASIC_AUTH_USER",
        "CLUSTER_NAME", "DEBUG", "DISCORD_WEBHOOK_URL", "DOCKER_REGISTRY_CFG", "GOOGLE_APPLICATION_CREDENTIALS", "HELM3_PROVIDER", "HELM_DRIVER",
        "HELM_KUBEAPISERVER", "HELM_KUBECONTEXT", "HELM_KUBETOKEN", "HIPCHAT_APPROVALS_BOT_NAME", "HIPCHAT_APPROVALS_CHANNEL",
        "HIPCHAT_APPROVALS_PASSWORT", "HIPCHAT_APPROVALS_USER_NAME", "HIPCHAT_BOT_NAME", "HIPCHAT_CHANNELS", "HIPCHAT_CONNECTION_ATTEMPTS",
        "HIPCHAT_SERVER", "HIPCHAT_TOKEN", "INSECURE_REGISTRY", "KUBERNETES_CONFIG", "KUBERNETES_CONTEXT", "KUBERNETES_MASTERURL", "MAIL_FROM",
        "MAIL_SMTP_PASS", "MAIL_SMTP_PORT", "MAIL_SMTP_SERVER", "MAIL_SMTP_USER", "MAIL_TO", "MATTERMOST_ENDPOINT", "MATTERMOST_USERNAME",
        "NOTIFICATION_LEVEL", "POLL", "POLL_DEFAULTSCHEDULE", "PRIVATE_REGISTRY", "PROJECT_ID", "PUBSUB", "RESTRICTED_NAMESPACE",
        "SHOUTRRR_TIMEOUT", "SHOUTRRR_URLS", "SLACK_APPROVALS_CHANNEL", "SLACK_APP_TOKEN", "SLACK_BOT_NAME", "SLACK_BOT_TOKEN", "SLACK_CHANNELS",
        "SLACK_TOKEN", "TEAMS_WEBHOOK_URL", "TOKEN_SECRET", "UI_DIR", "WEBHOOK_ENDPOINT", "XDG_DATA_HOME",
    ];

    [Theory]
    [MemberData(nameof(KeelsVariables))]
    public void Every_variable_keel_reads_is_honoured_or_refused_never_passed_over(string name)
    {
        var variable = Assert.Single(KeelEnvironment.Variables, v => v.Name == name);
        Assert.False(string.IsNullOrWhiteSpace(variable.Meaning));
        var report = KeelEnvironment.Read(new ConfigurationBuilder().AddInMemoryCollection([new(name, name == "AUTH_MODE" ? "legacy" : "1")]).Build());
        Assert.Equal(1, report.Honoured.Count + report.Refused.Count);
    }

    [Fact]
    public async Task Mapped_variables_become_their_settings_and_are_named_once_in_the_start_up_log()
    {
        await using var portal = new PortalFactory()
            .With("POLL", "0").With("POLL_DEFAULTSCHEDULE", "@every 5m").With("HELM3_PROVIDER", "true").With("RESTRICTED_NAMESPACE", "shop")
            .With("INSECURE_REGISTRY", "true").With("BASIC_AUTH_USER", "keeladmin").With("BASIC_AUTH_PASSWORD", "Keel-Password-1")
            .With("DEBUG", "true").With("NOTIFICATION_LEVEL", "warn").With("TOKEN_SECRET", "s3cret").With("SHOUTRRR_TIMEOUT", "1m30s").With("PUBSUB", "false");
        _ = portal.Services;

        var workloads = portal.Services.GetRequiredService<IOptions<WorkloadsOptions>>().Value;
        var access = portal.Services.GetRequiredService<IOptions<AccessOptions>>().Value;
        Assert.Equal((false, "@every 5m", "shop"), (workloads.Polling, workloads.DefaultPollSchedule, Assert.Single(workloads.Namespaces)));
        Assert.True(portal.Services.GetRequiredService<IOptions<HelmOptions>>().Value.Enabled);
        // Keel's PUBSUB: any value turns Pub/Sub on but "0" and "false".
        Assert.False(portal.Services.GetRequiredService<IOptions<TriggersOptions>>().Value.PubSub.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(90), portal.Services.GetRequiredService<IOptions<KeelPortal.Notifications.NotificationsOptions>>().Value.AttemptTimeout);
        Assert.True(portal.Services.GetRequiredService<IOptions<RegistriesOptions>>().Value.Defaults.SkipTlsVerify);
        Assert.Equal(("keeladmin", "Keel-Password-1"), (access.Admin.UserName, access.Admin.Password));
        Assert.NotNull(await portal.Services.GetRequiredService<AccountService>().CurrentRoleAsync("keeladmin"));
        var lines = portal.Logs.Lines.Where(l => l.Message.StartsWith("Keel's ", StringComparison.Ordinal)).Select(l => l.Message).ToList();
        Assert.Contains("Keel's POLL_DEFAULTSCHEDULE → Workloads:DefaultPollSchedule = @every 5m (the default poll schedule)", lines);
        Assert.Contains(lines, l => l.StartsWith("Keel's TOKEN_SECRET: not needed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Keel's NOTIFICATION_LEVEL:", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("POLL_DEFAULTSCHEDULE", StringComparison.Ordinal));
        // A password is named, never shown.
        Assert.Contains("Keel's BASIC_AUTH_PASSWORD → Access:Admin:Password = (set) (the first administrator's password (and, with AUTHENTICATED_WEBHOOKS, the webhooks' Basic password))", lines);
        Assert.DoesNotContain(portal.Logs.Lines, l => l.Message.Contains("Keel-Password-1", StringComparison.Ordinal));
    }

    /// <summary>
    /// The environment of Keel's own manifest (keel-hq/keel <c>deployment/deployment-template.yaml</c>) rendered with an
    /// administrator, the Helm provider and a Slack bot: every variable it sets, empty ones included.
    /// </summary>
    private static readonly Dictionary<string, string> KeelManifest = new()
    {
        ["PROJECT_ID"] = "", ["PUBSUB"] = "", ["BASIC_AUTH_USER"] = "keeladmin", ["BASIC_AUTH_PASSWORD"] = "Keel-Admin-Password-1",
        ["AUTHENTICATED_WEBHOOKS"] = "false", ["HELM3_PROVIDER"] = "true", ["AWS_ACCESS_KEY_ID"] = "", ["AWS_SECRET_ACCESS_KEY"] = "", ["AWS_REGION"] = "",
        ["WEBHOOK_ENDPOINT"] = "", ["MATTERMOST_ENDPOINT"] = "", ["SHOUTRRR_URLS"] = "", ["TEAMS_WEBHOOK_URL"] = "", ["SLACK_APP_TOKEN"] = "",
        ["SLACK_BOT_TOKEN"] = "xoxb-1-2-keelmanifest", ["SLACK_CHANNELS"] = "general", ["SLACK_APPROVALS_CHANNEL"] = "general", ["SLACK_BOT_NAME"] = "keel",
        ["HIPCHAT_TOKEN"] = "", ["HIPCHAT_CHANNELS"] = "", ["HIPCHAT_APPROVALS_CHANNEL"] = "", ["HIPCHAT_APPROVALS_BOT_NAME"] = "",
        ["HIPCHAT_APPROVALS_USER_NAME"] = "", ["HIPCHAT_APPROVALS_PASSWORT"] = "", ["NOTIFICATION_LEVEL"] = "info", ["INSECURE_REGISTRY"] = "true",
    };

    [Fact]
    public async Task Keels_own_manifest_environment_starts_a_portal_that_behaves_as_keel_configured()
    {
        await using var portal = new PortalFactory();
        foreach (var (name, value) in KeelManifest)
        {
            portal.With(name, value);
        }
        _ = portal.Services;

        Assert.NotNull(await portal.Services.GetRequiredService<AccountService>().CurrentRoleAsync("keeladmin"));
        Assert.True(portal.Services.GetRequiredService<IOptions<HelmOptions>>().Value.Enabled);
        Assert.True(portal.Services.GetRequiredService<IOptions<RegistriesOptions>>().Value.Defaults.SkipTlsVerify);
        Assert.False(portal.Services.GetRequiredService<IOptions<TriggersOptions>>().Value.PubSub.Enabled);
        var channels = portal.Services.GetRequiredService<KeelPortal.Notifications.ConfiguredChannels>().All;
        var slack = Assert.Single(channels);
        Assert.Equal((KeelPortal.Notifications.ChannelType.Slack, "general", "keel"), (slack.Type, slack.Channel, slack.Username));
        // Empty variables, as Keel's manifest writes them for what is off, are neither taken nor refused.
        Assert.DoesNotContain(portal.Logs.Lines, l => l.Message.StartsWith("Keel's HIPCHAT", StringComparison.Ordinal) || l.Message.StartsWith("Keel's SLACK_APP_TOKEN", StringComparison.Ordinal));
        Assert.Contains(portal.Logs.Lines, l => l.Message.StartsWith("Keel's HELM3_PROVIDER → Helm:Enabled = true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_keelportal_setting_wins_over_the_keel_variable_that_means_it()
    {
        await using var portal = new PortalFactory().With("POLL_DEFAULTSCHEDULE", "@every 5m").With("Workloads:DefaultPollSchedule", "@every 2m");
        _ = portal.Services;

        Assert.Equal("@every 2m", portal.Services.GetRequiredService<IOptions<WorkloadsOptions>>().Value.DefaultPollSchedule);
        Assert.Contains(portal.Logs.Lines, l => l.Message == "Keel's POLL_DEFAULTSCHEDULE: the default poll schedule — not used, Workloads:DefaultPollSchedule is set");
    }

    [Theory]
    [InlineData("HIPCHAT_TOKEN", "abc", "HipChat was shut down")]
    [InlineData("AUTH_MODE", "external-proxy", "Access:Oidc")]
    [InlineData("HELM_KUBEAPISERVER", "https://10.0.0.1", "Workloads:Server")]
    [InlineData("POLL", "sometimes", "Workloads:Polling")]
    public void A_variable_keelportal_does_not_take_stops_start_up_naming_it_and_what_to_use(string name, string value, string advice)
    {
        using var portal = new PortalFactory().With(name, value);

        var report = portal.RefusedSettingsReport();

        Assert.Contains("Keel's " + name, report, StringComparison.Ordinal);
        Assert.Contains(advice, report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_polling_off_no_repository_is_polled_whatever_the_workloads_ask()
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("POLL", "false"));
        pipeline.Deploy("web", pipeline.Repository("team/web") + ":1.0.0",
            new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll" });
        await pipeline.TrackedAsync("deployment/shop/web");
        var scheduler = pipeline.Portal.Services.GetServices<IHostedService>().OfType<PollScheduler>().Single();

        await scheduler.ReconcileAsync(CancellationToken.None);

        Assert.Empty(scheduler.Registered);
    }

    [Fact]
    public async Task Keels_docker_registry_config_gives_every_workload_its_registry_credentials()
    {
        const string host = "registry.keel-cfg.example";
        await using var registry = await CloudRegistry.StartAsync("keel-cfg", "cfg-password", "team/app");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("keel-cfg:cfg-password"));
        await using var pipeline = await registry.PipelineAsync(host, "team/app", null, [("DOCKER_REGISTRY_CFG", "{\"auths\":{\"" + host + "\":{\"auth\":\"" + auth + "\"}}}")]);

        await pipeline.PollNowAsync($"{host}/team/app");

        var approval = await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal("1.0.0", approval.CurrentVersion);
        Assert.DoesNotContain(pipeline.Portal.Logs.Lines, l => l.Message.Contains("cfg-password", StringComparison.Ordinal) || l.Message.Contains(auth, StringComparison.Ordinal));
    }

    [Fact]
    public void A_docker_registry_config_that_cannot_be_read_stops_start_up()
    {
        using var portal = new PortalFactory().With("DOCKER_REGISTRY_CFG", "{not json");

        var report = portal.RefusedSettingsReport();

        Assert.Contains("Registries:DockerConfig (Keel's DOCKER_REGISTRY_CFG) is not valid docker configuration JSON", report, StringComparison.Ordinal);
    }
}

using System.Text.RegularExpressions;
using KeelPortal.Helm;
using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeelPortal.Tests.Deploy;

/// <summary>
/// Keel's chart values with the real helm: Keel's own values file renders unchanged (but for the image) into a portal
/// with Keel's behaviour, each group of Keel's values lands where it means something, a value the portal does not take
/// stops the render naming it, and a key neither chart knows is refused by the schema.
/// </summary>
[Collection(AppHosts.Name)]
public sealed partial class KeelChartValuesTests
{
    private static readonly string KeelValues = Path.Combine(RepoPaths.Root, "KeelPortal.Tests", "Deploy", "keel-values.yaml");

    private static async Task<(int Code, string Output)> TemplateAsync(params string[] args)
    {
        var (code, output, error) = await HelmTool.RunRawAsync("/dev/null", null, ["template", "keel", ChartRbac.Chart, "--namespace", "keel", "-f", KeelValues, .. args]);
        return (code, output + error);
    }

    [GeneratedRegex(@"- name: (?<name>[A-Za-z_]+)\n\s+value: (?<value>.*)")]
    private static partial Regex EnvEntry();

    [Fact]
    public async Task Keels_values_file_renders_a_portal_that_behaves_as_keel_configured()
    {
        var (code, rendered) = await TemplateAsync("--set", $"image.repository={ChartRbac.Image}");
        Assert.True(code == 0, rendered);

        // Keel's defaults: no Service and no volume (service.enabled and persistence.enabled are false there), its
        // startup probe, the Helm provider on.
        Assert.DoesNotContain("kind: Service\n", rendered, StringComparison.Ordinal);
        Assert.DoesNotContain("kind: PersistentVolumeClaim", rendered, StringComparison.Ordinal);
        Assert.Contains("periodSeconds: 5\n            timeoutSeconds: 5\n            failureThreshold: 30", rendered, StringComparison.Ordinal);
        // The rendered environment, started as a portal: its effective settings are Keel's.
        var env = EnvEntry().Matches(rendered).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value.Trim().Trim('"'));
        await using var portal = new PortalFactory();
        foreach (var (name, value) in env.Where(e => e.Key is not ("HOME" or "ASPNETCORE_URLS" or "Metrics__Port" or "POD_NAME" or "POD_NAMESPACE")))
        {
            portal.With(name.Replace("__", ":", StringComparison.Ordinal), value);
        }
        _ = portal.Services;
        var workloads = portal.Services.GetRequiredService<IOptions<WorkloadsOptions>>().Value;
        Assert.Equal((true, "@every 1m"), (workloads.Polling, workloads.DefaultPollSchedule));
        Assert.True(portal.Services.GetRequiredService<IOptions<HelmOptions>>().Value.Enabled);
        Assert.Contains(portal.Logs.Lines, l => l.Message.StartsWith("Keel's NOTIFICATION_LEVEL", StringComparison.Ordinal));
        Assert.Empty(portal.Services.GetRequiredService<ConfiguredChannels>().All);
    }

    [Fact]
    public async Task Keels_values_file_alone_is_refused_for_its_image_and_a_key_neither_chart_knows_is_named()
    {
        var (keelImage, keelOutput) = await TemplateAsync();
        var (unknown, unknownOutput) = await TemplateAsync("--set", $"image.repository={ChartRbac.Image}", "--set", "slack.channelz=deploys");

        Assert.NotEqual(0, keelImage);
        Assert.Contains("image.repository names Keel's image", keelOutput, StringComparison.Ordinal);
        Assert.NotEqual(0, unknown);
        Assert.Contains("slack: Additional property channelz is not allowed", unknownOutput, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], string[]> Groups() => new()
    {
        { "service", ["service.enabled=true", "service.externalPort=9300", "service.clusterIP=10.0.0.9", "serviceAnnotations.team=platform"],
            ["port: 9300", "clusterIP: 10.0.0.9", "team: platform"] },
        { "ecr", ["ecr.enabled=true", "ecr.roleArn=arn:aws:iam::1:role/keel", "ecr.accessKeyId=AKIAEXAMPLE", "ecr.secretAccessKey=secret-key", "aws.region=eu-west-1"],
            ["name: Registries__Aws__RoleArn", "AWS_ACCESS_KEY_ID: \"AKIAEXAMPLE\"", "name: AWS_REGION\n              value: \"eu-west-1\""] },
        { "gcr", ["gcr.enabled=true", "gcr.gcpServiceAccount=keel@p.iam.gserviceaccount.com", "gcr.projectId=p", "gcr.pubSub.enabled=true"],
            ["iam.gke.io/gcp-service-account: keel@p.iam.gserviceaccount.com", "name: PROJECT_ID\n              value: \"p\""] },
        { "pod", ["podAnnotations.owner=platform-team", "debug=true", "startupProbe.enabled=false"],
            ["owner: platform-team", "name: DEBUG\n              value: \"true\""] },
        { "secrets", ["secret.name=keel-settings", "dockerRegistry.enabled=true", "dockerRegistry.name=regcred", "dockerRegistry.key=.dockerconfigjson"],
            ["name: keel-settings", "name: DOCKER_REGISTRY_CFG", "name: regcred"] },
        { "slack", ["slack.enabled=true", "slack.botToken=xoxb-1", "slack.appToken=xapp-1", "slack.approvalsChannel=approvals", "slack.botName=keel"],
            ["SLACK_TOKEN: \"xoxb-1\"", "SLACK_APP_TOKEN: \"xapp-1\"", "name: SLACK_APPROVALS_CHANNEL\n              value: \"approvals\""] },
        { "persistence", ["persistence.enabled=true", "persistence.storageClass=-"], ["storageClassName: \"\""] },
    };

    [Theory]
    [MemberData(nameof(Groups))]
    public async Task Each_group_of_keels_values_lands_where_it_means_something(string group, string[] sets, string[] expected)
    {
        var (code, rendered) = await TemplateAsync(["--set", $"image.repository={ChartRbac.Image}", .. sets.SelectMany(s => new[] { "--set", s })]);

        Assert.True(code == 0, $"{group}: {rendered}");
        Assert.All(expected, e => Assert.Contains(e, rendered, StringComparison.Ordinal));
        if (group == "pod")
        {
            Assert.DoesNotContain("startupProbe:", rendered, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("oauth2Proxy.enabled=true", "oauth2Proxy.enabled:")]
    [InlineData("webhookRelay.enabled=true", "webhookRelay.enabled:")]
    [InlineData("rbac.enabled=false", "rbac: the chart always creates")]
    [InlineData("auth.mode=external-proxy", "auth.mode: only Keel's legacy mode")]
    [InlineData("googleApplicationCredentials=e30=", "googleApplicationCredentials:")]
    [InlineData("createNamespaceResource=true", "createNamespaceResource:")]
    [InlineData("gcloud.managedCertificates.enabled=true", "gcloud.managedCertificates.enabled:")]
    [InlineData("ingress.hosts[0].host=keel.example.com", "ingress.hosts: this chart serves one host")]
    [InlineData("hipchat.enabled=true", "hipchat.enabled: HipChat was shut down")]
    [InlineData("mail.enabled=true", "mail.smtp.server is required when mail.enabled")]
    [InlineData("shoutrrr.enabled=true", "shoutrrr.urls is required when shoutrrr.enabled")]
    public async Task A_keel_value_the_portal_does_not_take_stops_the_render_naming_it(string set, string says)
    {
        var (code, output) = await TemplateAsync("--set", $"image.repository={ChartRbac.Image}", "--set", "slack.enabled=true", "--set", "slack.botToken=xoxb-1", "--set", set);

        Assert.NotEqual(0, code);
        Assert.Contains(says, output, StringComparison.Ordinal);
    }
}

using System.Text.Json.Nodes;
using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Updates;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Deploy;

/// <summary>
/// The portal's chart with the real helm: lint and template clean for the default and three value sets, and its RBAC
/// rules exactly what the portal uses — the portal runs with the API test server enforcing them (no request refused),
/// and with any one rule removed the same run is refused something. Cluster-wide and namespaced installs alike.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ChartTests
{
    public static readonly TheoryData<string, string[]> ValueSets = new()
    {
        { "defaults", [] },
        { "namespace list", ["namespaces={shop,payments}"] },
        { "ingress and OIDC", ["ingress.enabled=true", "ingress.host=deploy.example.com", "oidc.enabled=true", "oidc.authority=https://id.example.com",
            "oidc.clientId=keelportal", "oidc.existingSecret=keelportal-oidc", "oidc.adminGroups={platform}"] },
        { "Helm tracking on", ["helmProvider.enabled=true", "slack.enabled=true", "slack.botToken=xoxb-1", "slack.channel=deploys"] },
        { "pod logs", ["diagnostics.podLogs=true"] },
        { "Keel's values", ["polling.enabled=false", "insecureRegistry=true", "basicauth.enabled=true", "basicauth.user=keel", "basicauth.password=keel-pass",
            "slack.enabled=true", "slack.botToken=xoxb-1", "slack.channel=deploys", "slack.approvalsChannel=approvals", "slack.botName=keelbot",
            "extraEnv[0].name=POLL_DEFAULTSCHEDULE", "extraEnv[0].value=@every 5m",
            "mail.enabled=true", "mail.from=keel@example.com", "mail.to=ops@example.com", "mail.smtp.server=smtp.example.com", "mail.smtp.port=587",
            "mail.smtp.user=keel", "mail.smtp.pass=mail-pass", "shoutrrr.enabled=true", "shoutrrr.urls={discord://tok@123,generic://hooks.example.com/k}",
            "shoutrrr.timeout=5s"] },
        { "replicas on PostgreSQL", ["replicas=3", "database.provider=postgres", "database.existingSecret=keelportal-db"] },
    };

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Helm_lint_and_template_are_clean(string name, string[] sets)
    {
        var args = new List<string> { "lint", ChartRbac.Chart, "--strict", "--set", $"image.repository={ChartRbac.Image}" };
        foreach (var set in sets)
        {
            args.AddRange(["--set", set]);
        }
        var (code, output, error) = await HelmTool.RunRawAsync("/dev/null", null, [.. args]);
        var rendered = await ChartRbac.TemplateAsync(sets);

        Assert.True(code == 0, $"{name}: {output}{error}");
        Assert.Contains("kind: Deployment", rendered, StringComparison.Ordinal);
        Assert.Contains("readOnlyRootFilesystem: true", rendered, StringComparison.Ordinal);
        Assert.Contains("path: /readyz", rendered, StringComparison.Ordinal);
        var rules = ChartRbac.FromManifests(rendered);
        switch (name)
        {
            case "namespace list":
                Assert.Equal(["payments", "shop"], rules.Where(r => r.Namespace is not null).Select(r => r.Namespace!).Distinct().Order(StringComparer.Ordinal));
                Assert.Equal(["nodes"], rules.Where(r => r.Namespace is null).SelectMany(r => r.Resources));
                break;
            case "ingress and OIDC":
                Assert.Contains("kind: Ingress", rendered, StringComparison.Ordinal);
                Assert.Contains("Access__Oidc__RoleMap__platform", rendered, StringComparison.Ordinal);
                break;
            case "replicas on PostgreSQL":
                // The replicas elect the cluster watcher with a Lease in the release's namespace, and share no volume.
                Assert.Equal(["keel: [coordination.k8s.io] leases get,create,update"], rules.Where(r => r.Namespace is not null).Select(r => r.ToString()));
                Assert.Contains("replicas: 3", rendered, StringComparison.Ordinal);
                Assert.Contains("name: Workloads__LeaderElection\n              value: \"on\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: keelportal-db", rendered, StringComparison.Ordinal);
                Assert.DoesNotContain("kind: PersistentVolumeClaim", rendered, StringComparison.Ordinal);
                Assert.Contains("type: RollingUpdate", rendered, StringComparison.Ordinal);
                Assert.Contains("name: Health__DrainDelay", rendered, StringComparison.Ordinal);
                break;
            case "Keel's values":
                Assert.Contains("name: Workloads__Polling\n              value: \"false\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: Registries__Defaults__SkipTlsVerify\n              value: \"true\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: Access__Admin__UserName\n              value: \"keel\"", rendered, StringComparison.Ordinal);
                Assert.Contains("Access__Admin__Password: \"keel-pass\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: SLACK_APPROVALS_CHANNEL\n              value: \"approvals\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: SLACK_BOT_NAME\n              value: \"keelbot\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: POLL_DEFAULTSCHEDULE\n              value: '@every 5m'", rendered, StringComparison.Ordinal);
                Assert.Contains("name: MAIL_SMTP_SERVER\n              value: \"smtp.example.com\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: MAIL_SMTP_PORT\n              value: \"587\"", rendered, StringComparison.Ordinal);
                Assert.Contains("MAIL_SMTP_PASS: \"mail-pass\"", rendered, StringComparison.Ordinal);
                Assert.Contains("SHOUTRRR_URLS: \"discord://tok@123 generic://hooks.example.com/k\"", rendered, StringComparison.Ordinal);
                Assert.Contains("name: SHOUTRRR_TIMEOUT\n              value: \"5s\"", rendered, StringComparison.Ordinal);
                break;
            case "pod logs":
                Assert.Contains(rules, r => r.Resources.SequenceEqual(["pods/log"]) && r.Verbs.SequenceEqual(["get"]));
                Assert.Contains("name: Workloads__PodLogs\n              value: \"true\"", rendered, StringComparison.Ordinal);
                break;
            case "Helm tracking on":
                Assert.Contains(rules, r => r.Resources.Contains("configmaps") && r.Verbs.Contains("watch"));
                Assert.Contains("SLACK_TOKEN", rendered, StringComparison.Ordinal);
                break;
            default:
                Assert.DoesNotContain(rules, r => r.Namespace is not null);
                Assert.DoesNotContain(rules, r => r.Resources.Contains("configmaps"));
                Assert.DoesNotContain(rules, r => r.Resources.Contains("pods/log"));
                Assert.DoesNotContain("Workloads__PodLogs", rendered, StringComparison.Ordinal);
                break;
        }
    }

    [Fact]
    public async Task The_kustomize_base_renders_the_objects_the_chart_renders()
    {
        var rendered = await HelmTool.RunAsync("/dev/null", "template", "keelportal", ChartRbac.Chart, "--namespace", "keelportal",
            "--set", "webhookSecret.existingSecret=keelportal-webhook", "--set", "admin.existingSecret=keelportal-admin", "--set", "image.repository=keelportal");
        var chart = Objects(rendered);
        var (exit, output, error) = await ToolProcess.RunAsync(RegistryProcess.Which("kubectl") ?? throw new InvalidOperationException("kubectl is not installed: run ./test.sh"),
            ["kustomize", Path.Combine(RepoPaths.Root, "deploy", "kustomize")]);
        var kustomized = Objects(output);

        Assert.True(exit == 0, error);
        Assert.Equal(chart.Keys.Order(StringComparer.Ordinal), kustomized.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, expected) in chart)
        {
            // kustomize sets the namespace on every namespaced object; the chart leaves it to helm install.
            var actual = kustomized[key];
            (actual["metadata"] as JsonObject)?.Remove("namespace");
            (expected["metadata"] as JsonObject)?.Remove("namespace");
            Assert.True(JsonNode.DeepEquals(expected, actual), $"{key} differs: regenerate deploy/kustomize/keelportal.yaml as its header says");
        }
    }

    [Fact]
    public async Task Without_an_image_the_chart_refuses_to_render_and_says_how_to_get_one()
    {
        var (code, output, error) = await HelmTool.RunRawAsync("/dev/null", null, "template", "kp", ChartRbac.Chart);

        Assert.NotEqual(0, code);
        Assert.Contains("image.repository is required: build this repository's Dockerfile, push the image", error + output, StringComparison.Ordinal);
        Assert.Contains($"image: \"{ChartRbac.Image}:0.1.0\"", await ChartRbac.TemplateAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_install_notes_name_the_rights_the_Helm_provider_adds_when_it_is_on(bool helmProvider)
    {
        // helm prints NOTES.txt on install, and helm template leaves it out: a copy of the chart renders the same file
        // with the real helm's template engine (tpl), into a ConfigMap that helm template prints.
        var copy = Directory.CreateTempSubdirectory("keelportal-notes-").FullName;
        try
        {
            CopyDirectory(ChartRbac.Chart, copy);
            File.Copy(Path.Combine(copy, "templates", "NOTES.txt"), Path.Combine(copy, "notes-under-test.txt"));
            await File.WriteAllTextAsync(Path.Combine(copy, "templates", "notes-under-test.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: |\n{{ tpl (.Files.Get \"notes-under-test.txt\") . | indent 4 }}\n");
            var output = await HelmTool.RunAsync("/dev/null", "template", "kp", copy, "--namespace", "keel", "--show-only", "templates/notes-under-test.yaml",
                "--set", $"image.repository={ChartRbac.Image}", "--set", $"helmProvider.enabled={(helmProvider ? "true" : "false")}", "--set", "namespaces={shop}");
            var notes = Objects(output)["ConfigMap/notes-under-test"]["data"]!["notes"]!.GetValue<string>();

            Assert.Contains("kubectl -n keel port-forward", notes, StringComparison.Ordinal);
            if (helmProvider)
            {
                Assert.Contains("The Helm provider is on", notes, StringComparison.Ordinal);
                Assert.Contains("get, list, watch, create, update, patch and delete Secrets and ConfigMaps", notes, StringComparison.Ordinal);
                Assert.Contains("every Secret in the namespaces shop", notes, StringComparison.Ordinal);
                Assert.Contains("get, list, create, update, patch, delete on deployments, statefulsets, daemonsets (apps)", notes, StringComparison.Ordinal);
            }
            else
            {
                Assert.DoesNotContain("Helm provider", notes, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static Dictionary<string, JsonNode> Objects(string yaml)
    {
        var deserializer = new YamlDotNet.Serialization.DeserializerBuilder().Build();
        var serializer = new YamlDotNet.Serialization.SerializerBuilder().JsonCompatible().Build();
        var objects = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var document in yaml.Split("\n---", StringSplitOptions.RemoveEmptyEntries))
        {
            if (deserializer.Deserialize<object?>(document) is { } parsed && JsonNode.Parse(serializer.Serialize(parsed)) is JsonObject o && o["kind"] is not null)
            {
                objects[$"{o["kind"]}/{o["metadata"]?["name"]}"] = o;
            }
        }
        return objects;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task The_chart_grants_what_the_portal_uses_and_every_rule_is_needed(bool namespaced, bool podLogs)
    {
        string[] sets = [.. namespaced ? ["namespaces={shop}"] : Array.Empty<string>(), .. podLogs ? ["diagnostics.podLogs=true"] : Array.Empty<string>()];
        var rbac = await ChartRbac.ForPortalAsync(sets);
        Assert.Equal(podLogs, rbac.Rules.Any(r => r.Resources.Contains("pods/log")));

        var full = await RunAsync(rbac, namespaced, podLogs);
        Assert.True(full.Forbidden.Count == 0, string.Join("; ", full.Forbidden));
        Assert.Equal(ApplyOutcome.Applied, full.Apply);

        foreach (var rule in rbac.Rules)
        {
            var without = await RunAsync(rbac.Without(rule), namespaced, podLogs);
            Assert.True(without.Forbidden.Count > 0, $"nothing the portal did needed the rule {rule}");
        }
    }

    /// <summary>
    /// What the portal does with the cluster: discover (list and watch every kind, pods and nodes), read a workload's
    /// pull secret, apply an update, and say why a rollout fails (its pods and events, with <paramref name="podLogs"/>
    /// a crashed container's log). Returns what the server refused and how the apply ended.
    /// </summary>
    private static async Task<(IReadOnlyList<string> Forbidden, ApplyOutcome? Apply)> RunAsync(KubeRbac rbac, bool namespaced, bool podLogs)
    {
        await using var server = await KubeApiServer.StartAsync();
        server.Rbac = rbac;
        server.Create(KubeObjects.Node("node-a"));
        server.Create(KubeObjects.Workload("Deployment", "shop", "web",
            annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" }, containers: [("app", "registry.example.com/team/web:1.0.0")]));
        server.Modify("Deployment", "shop", "web", d => d["spec"]!["template"]!["spec"]!["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = "regcred" }));
        server.Create(KubeObjects.Workload("CronJob", "shop", "nightly", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" }));
        server.Create(KubeObjects.Pod("shop", "web-0", "web", "node-a", ("app", "registry.example.com/team/web:1.0.0", $"registry.example.com/team/web@sha256:{new string('1', 64)}")));
        server.Create(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["type"] = "kubernetes.io/dockerconfigjson",
            ["metadata"] = new JsonObject { ["name"] = "regcred", ["namespace"] = "shop" },
            ["data"] = new JsonObject { [".dockerconfigjson"] = Convert.ToBase64String("""{"auths":{"registry.example.com":{"auth":"dTpw"}}}"""u8) },
        });
        var portal = new PortalFactory()
            .With("Workloads:Server", server.Url)
            .With("Workloads:Token", ChartRbac.PortalToken)
            .With("Workloads:ReconnectDelay", "00:00:00.100");
        if (namespaced)
        {
            portal.With("Workloads:Namespaces:0", "shop");
        }
        if (podLogs)
        {
            portal.With("Workloads:PodLogs", "true");
        }
        await using (portal)
        {
            _ = portal.Services;
            var watcher = portal.Services.GetRequiredService<WorkloadWatcher>();
            await Eventually.TrueAsync(() => watcher.FirstSnapshot.IsCompleted || server.Forbidden.Count > 0, TimeSpan.FromSeconds(15), "discovery done or refused");
            if (!watcher.FirstSnapshot.IsCompletedSuccessfully)
            {
                return (server.Forbidden, null);
            }
            var snapshot = portal.Services.GetRequiredService<WorkloadCatalog>().Snapshot("deployment/shop/web")!;
            await portal.Services.GetRequiredService<CredentialResolver>().ForAsync(snapshot, ImageReference.Parse("registry.example.com/team/web:1.0.0"), CancellationToken.None);
            var applied = await portal.Services.GetRequiredService<WorkloadApplier>().ApplyAsync(new ApplyRequest(
                "deployment/shop/web", [new ImageUpdate("app", "registry.example.com/team/web:1.1.0")], "1.0.0", "1.1.0"));
            // The new version crashes: why is read from the cluster.
            var crashing = KubeObjects.Pod("shop", "web-crash", "web", "node-a", ("app", "registry.example.com/team/web:1.1.0", ""));
            {
                var status = crashing["status"]!["containerStatuses"]![0]!.AsObject();
                status["ready"] = false;
                status["restartCount"] = 2;
                status["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CrashLoopBackOff" } };
                status["lastState"] = new JsonObject { ["terminated"] = new JsonObject { ["reason"] = "Error", ["exitCode"] = 1 } };
            }
            server.Create(crashing);
            server.SetLog("shop", "web-crash", "app", "panic: no config", previous: true);
            var why = await portal.Services.GetRequiredService<RolloutDiagnosis>().DiagnoseAsync("deployment/shop/web");
            var crashed = why.Containers.SingleOrDefault(c => c.Pod == "web-crash");
            Assert.True(why.Problem is not null || crashed is { LastReason: "Error" } && (!podLogs || crashed.Log is not null || crashed.LogNote is not null),
                why.Problem ?? string.Join("; ", why.Containers));
            return (server.Forbidden, applied.Outcome);
        }
    }
}

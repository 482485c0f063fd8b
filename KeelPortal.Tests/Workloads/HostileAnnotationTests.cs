using System.Net;
using System.Text.Json.Nodes;
using KeelPortal.Policies;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.Workloads;

/// <summary>
/// Whoever may annotate a workload writes patterns and values the portal evaluates: none of them may stall or stop it.
/// Patterns get RE2's linear-time guarantee, values a length limit, and a workload that still breaks something is kept
/// with the reason while the others are written.
/// </summary>
public sealed class HostileAnnotationTests
{
    // Exponential for a backtracking engine: every split of the a's is tried before the final '-x' fails the match.
    private const string Bomb = "^(a|aa)+$";
    private static readonly string Victim = new string('a', 44) + "-x";

    /// <summary>The pairs as a map; a key given twice keeps its last value.</summary>
    private static Dictionary<string, string> Keys(params (string Key, string Value)[] pairs)
    {
        var map = new Dictionary<string, string>();
        foreach (var (key, value) in pairs)
        {
            map[key] = value;
        }
        return map;
    }

    [Fact]
    public void A_catastrophic_monitor_containers_pattern_is_evaluated_in_linear_time_and_does_not_throw()
    {
        var settings = KeelSettings.Read(Keys(("keel.sh/policy", "all"), ("keel.sh/monitorContainers", Bomb)), null);

        Assert.Empty(settings.Errors);
        Assert.False(settings.Monitors(Victim, isInit: false));
        Assert.True(settings.Monitors(new string('a', 44), isInit: false));
    }

    [Fact]
    public void A_catastrophic_regexp_policy_decides_long_tags_without_timing_out()
    {
        var policy = UpdatePolicy.Parse("regexp:" + Bomb).Policy;

        var verdicts = TagChooser.Rank(policy, "aaaa", [Victim, new string('a', 60)]);

        Assert.Equal(PolicyKind.Regexp, policy.Kind);
        Assert.Contains(verdicts, v => v.Tag == Victim && v.Kind == VerdictKind.NoMatch);
    }

    [Theory]
    [InlineData("keel.sh/monitorContainers", "(?<=side)car", "keel.sh/monitorContainers: '(?<=side)car' is not a usable regular expression (it uses a construct")]
    [InlineData("keel.sh/monitorContainers", "(a)\\1", "keel.sh/monitorContainers: '(a)\\1' is not a usable regular expression (it uses a construct")]
    [InlineData("keel.sh/policy", "regexp:(?>a+)b", "keel.sh/policy: policy 'regexp:(?>a+)b' is not a usable regular expression: it uses a construct")]
    [InlineData("keel.sh/policy", "regexp:(a", "keel.sh/policy: policy 'regexp:(a' is not a usable regular expression")]
    public void Constructs_go_does_not_have_are_settings_errors(string key, string value, string error)
    {
        var settings = KeelSettings.Read(Keys(("keel.sh/policy", "all"), (key, value)), null);

        Assert.False(settings.IsTracked);
        Assert.Contains(settings.Errors, e => e.StartsWith(error, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("keel.sh/monitorContainers", 600)]
    [InlineData("keel.sh/policy", 5000)]
    [InlineData("keel.sh/approvals", 100_000)]
    public void Very_long_values_are_errors_and_are_not_evaluated(string key, int length)
    {
        var value = key == "keel.sh/policy" ? "regexp:" + new string('a', length) : new string('1', length);

        var settings = KeelSettings.Read(Keys(("keel.sh/policy", "all"), (key, value)), null);

        Assert.False(settings.IsTracked);
        var error = Assert.Single(settings.Errors);
        Assert.StartsWith(key + ":", error, StringComparison.Ordinal);
        Assert.True(error.Length < 300, error);
    }
}

/// <summary>The same, through discovery against the API server: the portal stays ready and the other workloads are written.</summary>
[Collection(AppHosts.Name)]
public sealed class HostileWorkloadDiscoveryTests
{
    private static void Seed(KubeApiServer server)
    {
        server.Create(KubeObjects.Workload("Deployment", "shop", "bomb",
            annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "all", ["keel.sh/monitorContainers"] = "^(a|aa)+$" },
            containers: [(new string('a', 44) + "-x", "nginx:1.25.0"), ("app", "nginx:1.25.0")]));
        var noSpec = KubeObjects.Workload("Deployment", "shop", "no-pod-spec", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "all" });
        ((JsonObject)noSpec["spec"]!["template"]!).Remove("spec");
        server.Create(noSpec);
        server.Create(KubeObjects.Workload("Deployment", "shop", "web", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" }));
    }

    [Fact]
    public async Task A_regex_bomb_and_an_unreadable_workload_leave_the_portal_ready_and_the_others_tracked()
    {
        await using var cluster = await ClusterPortal.StartAsync(Seed);
        using var client = cluster.Portal.CreateClient();

        var bomb = await cluster.StoredAsync("deployment/shop/bomb", w => w is not null);
        var broken = await cluster.StoredAsync("deployment/shop/no-pod-spec", w => w is not null);
        var web = await cluster.StoredAsync("deployment/shop/web", w => w is not null);
        using var ready = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(web!.IsTracked);
        Assert.Empty(bomb!.Containers);
        Assert.False(broken!.IsTracked);
        Assert.Contains(broken.Errors, e => e.StartsWith("the workload's settings could not be read", StringComparison.Ordinal));
        Assert.Single(cluster.Portal.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.StartsWith("deployment/shop/no-pod-spec has settings errors", StringComparison.Ordinal));

        // Still alive: a later change of another workload is written.
        cluster.Server.Modify("Deployment", "shop", "web", d => d["metadata"]!["annotations"]!["keel.sh/policy"] = "patch");
        await cluster.StoredAsync("deployment/shop/web", w => w?.Policy == "patch");
    }
}

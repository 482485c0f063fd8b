using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Workloads;

/// <summary>
/// Why a rollout failed, read from the API test server on demand through KubernetesClient: the events of the workload,
/// its ReplicaSet and its pods, each troubled container's state and last termination, and — only when allowed — the
/// last lines of their logs; bounded in size.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class RolloutDiagnosisTests
{
    [Fact]
    public async Task A_failed_rollout_is_explained_by_its_events_and_its_containers_last_terminations_without_logs_by_default()
    {
        await using var cluster = await ClusterPortal.StartAsync(FailingRollout.Seed);

        var why = await cluster.Portal.Services.GetRequiredService<RolloutDiagnosis>().DiagnoseAsync("deployment/shop/web");

        Assert.Null(why.Problem);
        // Newest first, about the Deployment, its ReplicaSet and its pods only.
        Assert.Equal(["ProgressDeadlineExceeded", "BackOff", "Failed", "SuccessfulCreate"], why.Events.Select(e => e.Reason));
        Assert.Equal(["Deployment/web", "Pod/web-a", "Pod/web-b", "ReplicaSet/web-5d8f"], why.Events.Select(e => e.About));
        Assert.Equal(12, why.Events.Single(e => e.Reason == "BackOff").Count);
        var crashing = why.Containers.Single(c => c.Pod == "web-a");
        Assert.Equal(("waiting", "CrashLoopBackOff", "OOMKilled", 137, 4), (crashing.State, crashing.Reason, crashing.LastReason, crashing.LastExitCode, crashing.Restarts));
        var pulling = why.Containers.Single(c => c.Pod == "web-b");
        Assert.Equal(("waiting", "ImagePullBackOff"), (pulling.State, pulling.Reason));
        Assert.Contains("Back-off pulling image", pulling.Message, StringComparison.Ordinal);
        Assert.False(why.LogsRead);
        Assert.All(why.Containers, c => Assert.Null(c.Log));
        Assert.DoesNotContain(cluster.Server.Requests, r => r.Path.Contains("/log", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_pod_logs_allowed_the_crashing_containers_previous_run_is_read_bounded_and_a_never_started_one_is_not()
    {
        await using var cluster = await ClusterPortal.StartAsync(FailingRollout.Seed, p => p.With("Workloads:PodLogs", "true"));

        var why = await cluster.Portal.Services.GetRequiredService<RolloutDiagnosis>().DiagnoseAsync("deployment/shop/web");

        Assert.True(why.LogsRead);
        var log = why.Containers.Single(c => c.Pod == "web-a").Log!;
        Assert.EndsWith("fatal: out of memory allocating cache", log, StringComparison.Ordinal);
        Assert.Equal(RolloutDiagnosis.LogLines, log.Split('\n').Length);
        Assert.Null(why.Containers.Single(c => c.Pod == "web-b").Log);
        var logRequest = Assert.Single(cluster.Server.Requests, r => r.Path.Contains("/log", StringComparison.Ordinal));
        Assert.Contains("/pods/web-a/log", logRequest.Path, StringComparison.Ordinal);
        Assert.Contains("previous=true", logRequest.Path, StringComparison.Ordinal);
        Assert.Contains($"limitBytes={RolloutDiagnosis.LogBytes}", logRequest.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flood_of_events_and_long_messages_stay_bounded()
    {
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            FailingRollout.Seed(server);
            for (var i = 0; i < 200; i++)
            {
                server.Create(FailingRollout.Event($"flood-{i}", "Pod", "web-a", "Warning", "Unhealthy", "Readiness probe failed: " + new string('x', 5000), FailingRollout.Start.AddSeconds(i)));
            }
        });

        var why = await cluster.Portal.Services.GetRequiredService<RolloutDiagnosis>().DiagnoseAsync("deployment/shop/web");

        Assert.Equal(RolloutDiagnosis.MaxEvents, why.Events.Count);
        Assert.All(why.Events, e => Assert.True(e.Message.Length <= RolloutDiagnosis.MaxMessage + 1, $"{e.Message.Length} characters"));
    }

    [Fact]
    public async Task A_workload_that_is_gone_or_not_an_identifier_says_so()
    {
        await using var cluster = await ClusterPortal.StartAsync(FailingRollout.Seed);
        var diagnosis = cluster.Portal.Services.GetRequiredService<RolloutDiagnosis>();

        Assert.Equal("deployment/shop/gone no longer exists in the cluster", (await diagnosis.DiagnoseAsync("deployment/shop/gone")).Problem);
        Assert.Contains("is not a workload identifier", (await diagnosis.DiagnoseAsync("../../etc")).Problem, StringComparison.Ordinal);
    }
}

/// <summary>A Deployment whose rollout failed, as the API server shows it: pods, their ReplicaSet, events and a log.</summary>
public static class FailingRollout
{
    public static readonly DateTime Start = new(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// web: pod web-a crashes (OOMKilled, exit 137, now in CrashLoopBackOff), pod web-b cannot pull its image, both of
    /// ReplicaSet web-5d8f; the Deployment passed its progress deadline. Pods of another app and events about others too.
    /// </summary>
    public static void Seed(KubeApiServer server)
    {
        server.Create(KubeObjects.Workload("Deployment", "shop", "web", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
            containers: [("app", "registry.example.com/team/web:1.1.0")]));
        server.Create(Pod("web-a", "web", new JsonObject
        {
            ["name"] = "app", ["image"] = "registry.example.com/team/web:1.1.0", ["ready"] = false, ["restartCount"] = 4,
            ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CrashLoopBackOff", ["message"] = "back-off 1m20s restarting failed container=app" } },
            ["lastState"] = new JsonObject { ["terminated"] = new JsonObject { ["reason"] = "OOMKilled", ["exitCode"] = 137 } },
        }));
        server.Create(Pod("web-b", "web", new JsonObject
        {
            ["name"] = "app", ["image"] = "registry.example.com/team/web:1.1.0", ["ready"] = false, ["restartCount"] = 0,
            ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ImagePullBackOff", ["message"] = "Back-off pulling image \"registry.example.com/team/web:1.1.0\"" } },
        }));
        server.Create(Pod("other-a", "other", new JsonObject
        {
            ["name"] = "app", ["image"] = "other:1", ["ready"] = false, ["restartCount"] = 9,
            ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CrashLoopBackOff" } },
        }));
        server.Create(Event("e1", "Deployment", "web", "Warning", "ProgressDeadlineExceeded", "ReplicaSet \"web-5d8f\" has timed out progressing.", Start.AddMinutes(10)));
        server.Create(Event("e2", "ReplicaSet", "web-5d8f", "Normal", "SuccessfulCreate", "Created pod: web-b", Start.AddMinutes(1)));
        server.Create(Event("e3", "Pod", "web-b", "Warning", "Failed", "Failed to pull image \"registry.example.com/team/web:1.1.0\": not found", Start.AddMinutes(2), count: 6));
        server.Create(Event("e4", "Pod", "web-a", "Warning", "BackOff", "Back-off restarting failed container app in pod web-a", Start.AddMinutes(5), count: 12));
        server.Create(Event("e5", "Pod", "other-a", "Warning", "BackOff", "not about web", Start.AddMinutes(6)));
        server.SetLog("shop", "web-a", "app", string.Join('\n', Enumerable.Range(1, 100).Select(i => $"line {i}")) + "\nfatal: out of memory allocating cache", previous: true);
    }

    private static JsonObject Pod(string name, string app, JsonObject status) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Pod",
        ["metadata"] = new JsonObject
        {
            ["name"] = name, ["namespace"] = "shop", ["labels"] = new JsonObject { ["app"] = app },
            ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = $"{app}-5d8f", ["uid"] = $"uid-{app}", ["controller"] = true }),
        },
        ["spec"] = new JsonObject { ["nodeName"] = "node-a", ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = status["image"]!.GetValue<string>() }) },
        ["status"] = new JsonObject { ["phase"] = "Running", ["containerStatuses"] = new JsonArray(status) },
    };

    public static JsonObject Event(string name, string kind, string about, string type, string reason, string message, DateTime at, int count = 1) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Event",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["involvedObject"] = new JsonObject { ["kind"] = kind, ["name"] = about, ["namespace"] = "shop" },
        ["type"] = type, ["reason"] = reason, ["message"] = message, ["count"] = count,
        ["firstTimestamp"] = at.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        ["lastTimestamp"] = at.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
    };
}

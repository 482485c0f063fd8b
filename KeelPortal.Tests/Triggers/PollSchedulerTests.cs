using Hangfire;
using Hangfire.Storage;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Triggers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KeelPortal.Tests.Triggers;

/// <summary>One recurring Hangfire job per polled repository, kept in step with the workloads.</summary>
[Collection(AppHosts.Name)]
public sealed class PollSchedulerTests
{
    private static Dictionary<string, string> Poll(string policy, string? schedule = null)
    {
        var annotations = new Dictionary<string, string> { ["keel.sh/policy"] = policy, ["keel.sh/trigger"] = "poll" };
        if (schedule is not null)
        {
            annotations["keel.sh/pollSchedule"] = schedule;
        }
        return annotations;
    }

    private static Dictionary<string, string> PollJobs(ClusterPortal cluster)
    {
        using var connection = cluster.Portal.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs().Where(j => j.Id.StartsWith(PollScheduler.Prefix, StringComparison.Ordinal))
            .ToDictionary(j => j.Id, j => j.Cron);
    }

    [Fact]
    public async Task Jobs_are_added_shared_rescheduled_and_removed_as_workloads_change()
    {
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            server.Create(KubeObjects.Workload("Deployment", "a", "one", annotations: Poll("minor", "@every 10m"), containers: [("app", "nginx:1.25.0")]));
            server.Create(KubeObjects.Workload("Deployment", "b", "two", annotations: Poll("patch", "*/5 * * * *"), containers: [("app", "nginx:1.25.1")]));
            server.Create(KubeObjects.Workload("Deployment", "c", "hooks", annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "all" },
                containers: [("app", "ghcr.io/acme/hooks:1.0.0")]));
        });

        await Eventually.TrueAsync(() => PollJobs(cluster).Count == 1, TimeSpan.FromSeconds(15), "one job for nginx");
        Assert.Equal("*/5 * * * *", PollJobs(cluster)["poll:docker.io/library/nginx"]);

        cluster.Server.Modify("Deployment", "a", "one", d => d["metadata"]!["annotations"]!["keel.sh/pollSchedule"] = "@every 90s");
        await Eventually.TrueAsync(() => PollJobs(cluster).GetValueOrDefault("poll:docker.io/library/nginx") == "*/30 * * * * *", TimeSpan.FromSeconds(15), "the shortest schedule wins");

        cluster.Server.Create(KubeObjects.Workload("Deployment", "c", "redis", annotations: Poll("minor", "not a schedule"), containers: [("app", "redis:7.2.0")]));
        await Eventually.TrueAsync(() => PollJobs(cluster).GetValueOrDefault("poll:docker.io/library/redis") == "* * * * *", TimeSpan.FromSeconds(15), "the default schedule applies");

        cluster.Server.Store.Delete(KubeResources.ByKind("Deployment"), "a", "one");
        cluster.Server.Store.Delete(KubeResources.ByKind("Deployment"), "b", "two");
        await Eventually.TrueAsync(() => !PollJobs(cluster).ContainsKey("poll:docker.io/library/nginx"), TimeSpan.FromSeconds(15), "removed with its last workload");
        Assert.DoesNotContain("poll:ghcr.io/acme/hooks", PollJobs(cluster).Keys);
        var redis = await cluster.Store.GetAsync("deployment/c/redis");
        Assert.Contains(redis!.Warnings, w => w.StartsWith("keel.sh/pollSchedule: 'not a schedule' is not a valid schedule", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stopping_portal_leaves_off_writing_thousands_of_poll_jobs_instead_of_writing_on_into_disposed_storage()
    {
        const int repositories = 2000;
        await using var cluster = await ClusterPortal.StartAsync(server =>
        {
            for (var i = 0; i < repositories; i++)
            {
                server.Create(KubeObjects.Workload("Deployment", $"team-{i / 100}", $"svc-{i}", annotations: Poll("minor"),
                    containers: [("app", $"registry.example.com/team/svc-{i}:1.0.0")]));
            }
        });
        var scheduler = cluster.Portal.Services.GetServices<IHostedService>().OfType<PollScheduler>().Single();
        // One log line per job written (the stopped host's services, job storage included, are disposed: they cannot be asked).
        int Written() => cluster.Portal.Logs.Lines.Count(l => l.Message.StartsWith("Polling registry.example.com/team/svc-", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => Written() > 0, TimeSpan.FromSeconds(60), "the poll jobs are being written");

        cluster.Portal.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        await Eventually.TrueAsync(() => scheduler.ExecuteTask!.IsCompleted, TimeSpan.FromSeconds(30), "the scheduler stopped");
        var written = Written();

        Assert.InRange(written, 1, repositories - 1);
        Assert.Empty(scheduler.Registered);
        Assert.DoesNotContain(cluster.Portal.Logs.Lines, l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }
}

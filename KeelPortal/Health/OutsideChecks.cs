using Hangfire;
using KeelPortal.Registries;
using KeelPortal.Workloads;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KeelPortal.Health;

/// <summary>
/// The cluster as the watchers see it. An outage outside the portal is reported (Degraded, with the reason and since
/// when) but does not fail readiness: restarting the portal would not bring the API server back.
/// </summary>
internal sealed class ClusterCheck(ClusterConnection cluster) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var s = cluster.Status;
        var since = $"since {s.Since:u}";
        return Task.FromResult(s.State switch
        {
            ClusterState.Connected => HealthCheckResult.Healthy($"{s.Message} ({since})"),
            ClusterState.NotConfigured => HealthCheckResult.Healthy($"no cluster configured: {s.Message}"),
            ClusterState.Connecting => HealthCheckResult.Degraded($"connecting ({since})"),
            _ => HealthCheckResult.Degraded($"{s.State.ToString().ToLowerInvariant()} {since}: {s.Message}"),
        });
    }
}

/// <summary>Registries failing now (unreachable, timing out, 5xx, rate-limited): reported, not a reason to restart.</summary>
internal sealed class RegistriesCheck(RegistryClient registries) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failing = registries.Statuses.Where(r => r.IsFailing).ToList();
        return Task.FromResult(failing.Count == 0
            ? HealthCheckResult.Healthy($"{registries.Statuses.Count} registr{(registries.Statuses.Count == 1 ? "y" : "ies")} contacted, none failing")
            : HealthCheckResult.Degraded(string.Join("; ", failing.Select(r =>
                $"{r.Host}: {r.ConsecutiveFailures} failure(s) in a row since {r.LastErrorAt:u}, last: {r.LastError}"))));
    }
}

/// <summary>
/// This instance's job server must be alive: without it nothing is polled, applied or notified, and restarting the
/// instance is the cure. Unhealthy when its heartbeat is missing or stale.
/// </summary>
internal sealed class JobServerCheck(JobStorage storage, TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan Stale = TimeSpan.FromMinutes(2);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var prefix = $"{Environment.MachineName}:{Environment.ProcessId}".ToLowerInvariant();
        // The server that works the default queue (polls, applies); the notification servers have queues of their own.
        var server = storage.GetMonitoringApi().Servers()
            .Where(s => s.Name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && s.Queues.Contains("default"))
            .MaxBy(s => s.Heartbeat);
        var now = time.GetUtcNow().UtcDateTime;
        return Task.FromResult(server?.Heartbeat is { } heartbeat && now - heartbeat < Stale
            ? HealthCheckResult.Healthy($"job server {server.Name} alive, {server.WorkersCount} workers, heartbeat {heartbeat:u}")
            : HealthCheckResult.Unhealthy(server is null
                ? "this instance's job server is not running: nothing is polled, applied or notified"
                : $"this instance's job server has not reported since {server.Heartbeat:u}"));
    }
}

/// <summary>Google Container Registry's Pub/Sub subscription, when it is on: a failing one is reported, not a reason to restart.</summary>
internal sealed class PubSubCheck(Triggers.PubSubTrigger pubSub) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var s = pubSub.Status;
        return Task.FromResult(s.State switch
        {
            Triggers.PubSubState.Off => HealthCheckResult.Healthy(s.Message),
            Triggers.PubSubState.Subscribed => HealthCheckResult.Healthy($"{s.Message} since {s.Since:u}"),
            _ => HealthCheckResult.Degraded($"{s.State.ToString().ToLowerInvariant()} since {s.Since:u}: {s.Message}"),
        });
    }
}

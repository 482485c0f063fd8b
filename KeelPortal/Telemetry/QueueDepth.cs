using System.Diagnostics.Metrics;
using Hangfire;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Telemetry;

/// <summary>
/// The slices' gauges, read when Prometheus scrapes: each slice registers its own <see cref="IPortalGauges"/> (pending
/// approvals, tracked images), and this one has the base's: the job queues, rate limits and work not yet done. One
/// meter per host.
/// </summary>
public sealed class QueueDepth
{
    public QueueDepth(PortalMetrics metrics, IServiceProvider services, IDbContextFactory<PortalDbContext> contexts)
    {
        var meter = metrics.Meter;
        // The job storage is read when scraped, never while the host is being built (Hangfire wires its logging at start).
        meter.CreateObservableGauge("keelportal.jobs.queue_depth", () => services.GetRequiredService<JobStorage>().GetMonitoringApi().Queues()
            .Select(q => new Measurement<long>(q.Length, new KeyValuePair<string, object?>("queue", q.Name))), "{job}", "Jobs waiting in each queue");
        meter.CreateObservableGauge("keelportal.registry.ratelimit_remaining", () => metrics.RateLimitRemaining
            .Select(r => new Measurement<long>(r.Value, new KeyValuePair<string, object?>("registry", r.Key))), "{request}", "The pull limit each registry last reported left");
        meter.CreateObservableGauge("keelportal.work.dead_letters", () => Work(contexts, dead: true), "{message}",
            "Work given up after every attempt (dead letters), by message type");
        meter.CreateObservableGauge("keelportal.work.waiting", () => Work(contexts, dead: false), "{message}",
            "Work not yet done (running, due or waiting for a retry), by message type");
        foreach (var gauges in services.GetServices<IPortalGauges>())
        {
            gauges.Create(meter);
        }
    }

    private static List<Measurement<long>> Work(IDbContextFactory<PortalDbContext> contexts, bool dead)
    {
        using var db = contexts.CreateDbContext();
        return db.Set<PortalEvent>().Where(e => e.Work && e.HandledAtUtc == null && (dead ? e.DeadAtUtc != null : e.DeadAtUtc == null))
            .GroupBy(e => e.Type).Select(g => new { g.Key, Count = g.LongCount() }).ToList()
            .Select(g => new Measurement<long>(g.Count, new KeyValuePair<string, object?>("type", g.Key))).ToList();
    }
}

/// <summary>A slice's gauges on the portal's meter (register it as a singleton <see cref="IPortalGauges"/>).</summary>
public interface IPortalGauges
{
    void Create(Meter meter);
}

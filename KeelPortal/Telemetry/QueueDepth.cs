using System.Diagnostics.Metrics;
using Hangfire;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Telemetry;

/// <summary>
/// Gauges read when Prometheus scrapes: the job queues' depth, pending approvals (also as Keel's
/// <c>pending_approvals</c>) and the images polls track (Keel's <c>poll_trigger_tracked_images</c>). One meter per host.
/// </summary>
public sealed class QueueDepth
{
    public QueueDepth(IMeterFactory meters, IServiceProvider services, IDbContextFactory<PortalDbContext> contexts)
    {
        var meter = meters.Create(PortalTelemetry.Name);
        // The job storage is read when scraped, never while the host is being built (Hangfire wires its logging at start).
        meter.CreateObservableGauge("keelportal.jobs.queue_depth", () => services.GetRequiredService<JobStorage>().GetMonitoringApi().Queues()
            .Select(q => new Measurement<long>(q.Length, new KeyValuePair<string, object?>("queue", q.Name))), "{job}", "Jobs waiting in each queue");
        meter.CreateObservableGauge("keelportal.registry.ratelimit_remaining", () => PortalTelemetry.RateLimitRemaining
            .Select(r => new Measurement<long>(r.Value, new KeyValuePair<string, object?>("registry", r.Key))), "{request}", "The pull limit each registry last reported left");
        meter.CreateObservableGauge("keelportal.approvals.pending", () => Pending(contexts), "{approval}", "Approvals waiting for votes");
        meter.CreateObservableGauge("keelportal.work.dead_letters", () => Work(contexts, dead: true), "{message}",
            "Work given up after every attempt (dead letters), by message type");
        meter.CreateObservableGauge("keelportal.work.waiting", () => Work(contexts, dead: false), "{message}",
            "Work not yet done (running, due or waiting for a retry), by message type");
        meter.CreateObservableGauge("pending_approvals", () => Pending(contexts), "{approval}", "Keel's pending_approvals");
        meter.CreateObservableGauge("poll_trigger_tracked_images", () =>
        {
            using var db = contexts.CreateDbContext();
            var images = db.Set<WorkloadRecord>().Where(w => w.IsTracked && w.Trigger == "poll").Select(w => w.Images).ToList();
            return (long)images.Sum(i => i.Split(", ", StringSplitOptions.RemoveEmptyEntries).Length);
        }, "{image}", "Keel's poll_trigger_tracked_images: images of workloads polled");
    }

    private static List<Measurement<long>> Work(IDbContextFactory<PortalDbContext> contexts, bool dead)
    {
        using var db = contexts.CreateDbContext();
        return db.Set<PortalEvent>().Where(e => e.Work && e.HandledAtUtc == null && (dead ? e.DeadAtUtc != null : e.DeadAtUtc == null))
            .GroupBy(e => e.Type).Select(g => new { g.Key, Count = g.LongCount() }).ToList()
            .Select(g => new Measurement<long>(g.Count, new KeyValuePair<string, object?>("type", g.Key))).ToList();
    }

    private static long Pending(IDbContextFactory<PortalDbContext> contexts)
    {
        using var db = contexts.CreateDbContext();
        return db.Set<Approval>().LongCount(a => a.State == ApprovalState.Pending);
    }
}

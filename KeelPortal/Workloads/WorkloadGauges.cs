using System.Diagnostics.Metrics;
using KeelPortal.Data;
using KeelPortal.Telemetry;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Workloads;

/// <summary>The images polls track, as Keel's <c>poll_trigger_tracked_images</c>.</summary>
public sealed class WorkloadGauges(IDbContextFactory<PortalDbContext> contexts) : IPortalGauges
{
    public void Create(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        meter.CreateObservableGauge("poll_trigger_tracked_images", () =>
        {
            using var db = contexts.CreateDbContext();
            var images = db.Set<WorkloadRecord>().Where(w => w.IsTracked && w.Trigger == "poll").Select(w => w.Images).ToList();
            return (long)images.Sum(i => i.Split(", ", StringSplitOptions.RemoveEmptyEntries).Length);
        }, "{image}", "Keel's poll_trigger_tracked_images: images of workloads polled");
    }
}

using System.Diagnostics.Metrics;
using KeelPortal.Data;
using KeelPortal.Telemetry;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

/// <summary>Pending approvals, also as Keel's <c>pending_approvals</c>.</summary>
public sealed class ApprovalGauges(IDbContextFactory<PortalDbContext> contexts) : IPortalGauges
{
    public void Create(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        meter.CreateObservableGauge("keelportal.approvals.pending", Pending, "{approval}", "Approvals waiting for votes");
        meter.CreateObservableGauge("pending_approvals", Pending, "{approval}", "Keel's pending_approvals");
    }

    private long Pending()
    {
        using var db = contexts.CreateDbContext();
        return db.Set<Approval>().LongCount(a => a.State == ApprovalState.Pending);
    }
}

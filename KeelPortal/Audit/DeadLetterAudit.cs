using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Audit;

/// <summary>Work given up is audited as <c>work.dead-lettered</c>, in the transaction that records the dead letter.</summary>
public sealed class DeadLetterAudit(AuditTrail audit) : IDeadLetterWitness
{
    public void Staging(DbContext db, PortalEvent row, string reason)
    {
        ArgumentNullException.ThrowIfNull(row);
        audit.Stage(db, AuditTrail.System, AuditActions.WorkDeadLettered, $"work/{row.Id}", $"{row.Type}: {reason}");
    }
}

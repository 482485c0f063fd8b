using KeelPortal.Approvals;
using KeelPortal.Audit;

namespace KeelPortal.Updates;

/// <summary>
/// How a rollback reads in the approvals' history: as one ("Rolled back automatically: the rollout of 1.1.0 failed —
/// ProgressDeadlineExceeded"), not as an update to an older version, with the approval whose rollout it undid.
/// </summary>
public sealed record RollbackEntry(string State, string Why, long? Undid)
{
    /// <summary>The entry of <paramref name="approval"/> when it is a rollback (null otherwise); <paramref name="history"/> holds the approval it undid.</summary>
    public static RollbackEntry? Of(Approval approval, IEnumerable<Approval> history)
    {
        ArgumentNullException.ThrowIfNull(approval);
        if (approval.RollbackBy is not { } by)
        {
            return null;
        }
        var undid = history.Where(a => a.WorkloadId == approval.WorkloadId && a.Id < approval.Id && a.NewVersion == approval.CurrentVersion
            && a.RollbackBy is null && a.State == ApprovalState.Applied).MaxBy(a => a.Id)?.Id;
        var who = by == AuditTrail.System ? "automatically" : $"by {by}";
        var state = approval.State switch
        {
            ApprovalState.Applied => $"Rolled back {who}",
            ApprovalState.Approved or ApprovalState.Applying => $"Rolling back {who}",
            _ => $"Rollback {who}: {approval.State.ToString().ToLowerInvariant()}",
        };
        return new RollbackEntry(state, Rollbacks.WhyOf(approval.Message), undid);
    }
}

using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Notifications;

/// <summary>
/// Turns what happened to an approval or a rollout into a notification, read back from the database (jobs get ids),
/// and raises it for the workload's channels, stamped with when it happened (so each channel hears of it in order). Safe to run twice: the event key makes the second run send nothing.
/// </summary>
public sealed class NotificationSources(
    ApprovalBook approvals, WorkloadStore workloads, IDbContextFactory<PortalDbContext> contexts, NotificationCenter center)
{
    public async Task ApprovalAsync(long approvalId, NotificationEvents e, DateTime occurredAtUtc, CancellationToken ct)
    {
        var approval = await approvals.GetAsync(approvalId, ct);
        // Updates that needed no votes are "approved" the moment they are found: nobody needs telling.
        if (approval is null || (e == NotificationEvents.Approved && approval.VotesRequired <= 0))
        {
            return;
        }
        var (notification, notify) = await DescribeAsync(approval, e, occurredAtUtc, ct);
        await center.RaiseAsync($"approval:{approval.Id}:{e}", notification, notify, ct);
    }

    /// <summary>The notification of <paramref name="e"/> for an approval as it stands, and the workload's channels (chat messages updated in place use it too).</summary>
    public async Task<(Notification Notification, IReadOnlyList<string> Notify)> DescribeAsync(Approval approval, NotificationEvents e, DateTime occurredAtUtc, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(approval);
        var (kind, ns, name, notify, releaseNotes) = await WorkloadAsync(approval.WorkloadId, ct);
        var (from, to) = (approval.CurrentVersion, approval.NewVersion);
        var yes = approval.Votes.Where(v => v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter).ToList();
        var votes = approval.VotesRequired > 0 ? $"{yes.Count}/{approval.VotesRequired}" : null;
        var message = e switch
        {
            NotificationEvents.ApprovalRequired => NotificationText.ApprovalRequired(kind, ns, name, from, to, approval.VotesRequired, approval.DeadlineUtc),
            NotificationEvents.Approved => NotificationText.Approved(kind, ns, name, from, to, yes),
            NotificationEvents.Rejected => NotificationText.Rejected(kind, ns, name, from, to, approval.Reason),
            NotificationEvents.Expired => NotificationText.Expired(kind, ns, name, from, to, yes.Count, approval.VotesRequired),
            NotificationEvents.Superseded => NotificationText.Superseded(kind, ns, name, from, to, approval.Reason),
            NotificationEvents.UpdateApplied when approval.RollbackBy is not null =>
                NotificationText.RolledBack(kind, ns, name, from, to, ApprovalBook.ImagesOf(approval).Select(i => i.Image), RollbackWhy(approval)),
            NotificationEvents.UpdateApplied => NotificationText.Applied(kind, ns, name, from, to, ApprovalBook.ImagesOf(approval).Select(i => i.Image), releaseNotes),
            NotificationEvents.UpdateFailed => NotificationText.Failed(kind, ns, name, from, to, approval.Reason ?? "unknown"),
            _ => throw new ArgumentOutOfRangeException(nameof(e), e, "not an approval event"),
        };
        var pending = e == NotificationEvents.ApprovalRequired;
        var link = e is NotificationEvents.UpdateApplied or NotificationEvents.UpdateFailed ? WorkloadId.Page(approval.WorkloadId).TrimStart('/') : $"approvals#approval-{approval.Id}";
        return (new Notification(e, NotificationKinds.LevelOf(e), message, kind, ns, name, from, to, votes,
            pending ? approval.DeadlineUtc : null, e == NotificationEvents.UpdateApplied ? Registries.SafeLink.ForMessage(releaseNotes) : null, link, occurredAtUtc, approval.Id), notify);
    }

    public async Task RolloutAsync(long rolloutId, DateTime occurredAtUtc, CancellationToken ct)
    {
        RolloutRecord? rollout;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            rollout = await db.Set<RolloutRecord>().AsNoTracking().SingleOrDefaultAsync(r => r.Id == rolloutId, ct);
        }
        if (rollout is null || rollout.State == RolloutState.InProgress)
        {
            return;
        }
        var (kind, ns, name, notify, _) = await WorkloadAsync(rollout.WorkloadId, ct);
        var succeeded = rollout.State == RolloutState.Succeeded;
        var e = succeeded ? NotificationEvents.RolloutSucceeded : NotificationEvents.RolloutFailed;
        var notification = new Notification(e, NotificationKinds.LevelOf(e),
            NotificationText.Rollout(kind, ns, name, rollout.FromVersion, rollout.ToVersion, succeeded, rollout.Reason),
            kind, ns, name, rollout.FromVersion, rollout.ToVersion, null, null, null, WorkloadId.Page(rollout.WorkloadId).TrimStart('/'), occurredAtUtc);
        await center.RaiseAsync($"rollout:{rollout.Id}", notification, notify, ct);
    }

    /// <summary>Why a rollback was made: a rollback's message keeps the request's words (its reason becomes the apply's outcome).</summary>
    private static string RollbackWhy(Approval approval) => approval.Message;

    /// <summary>Kind, namespace and name (Keel's lower-case kind), and the workload's channels and release notes when it still exists.</summary>
    private async Task<(string Kind, string Ns, string Name, IReadOnlyList<string> Notify, string? ReleaseNotes)> WorkloadAsync(string workloadId, CancellationToken ct)
    {
        var snapshot = await workloads.GetAsync(workloadId, ct);
        if (snapshot is not null)
        {
            return (WorkloadId.ResourceKind(snapshot.Kind), snapshot.Namespace, snapshot.Name, snapshot.NotifyChannels, snapshot.ReleaseNotes);
        }
        return WorkloadId.TryParse(workloadId, out var kind, out var ns, out var name)
            ? (WorkloadId.ResourceKind(kind), ns, name, [], null)
            : (workloadId, "", workloadId, [], null);
    }
}

using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>An earlier version a workload can go back to: what ran, pinned to its digest when it is known, and when an apply brought it in or replaced it.</summary>
public sealed record RollbackTarget(string Version, string? Digest, IReadOnlyList<ImageUpdate> Images, DateTime ChangedAtUtc);

/// <summary>
/// Rolling a workload back to a version it ran before. A rollback is a proposal like any update: its own approval,
/// the workload's approval rules and votes, the exact image (digest pinned when known), followed as a rollout, audited
/// and notified. Once applied, the workload is held at that version, so the next poll does not propose the version it
/// was rolled back from. With <c>keel.sh/rollback: auto</c>, a rollout the portal started that fails is rolled back
/// at once, without votes, on the replica that claims its <see cref="RolloutFinished"/> event.
/// </summary>
public sealed partial class Rollbacks(
    WorkloadStore workloads, ApprovalBook approvals, RolloutTracker rollouts, Holds holds, AuditTrail audit, ILogger<Rollbacks> logger) : IMessageHandler<RolloutFinished>
{
    /// <summary>The work of a failed rollout's <see cref="RolloutFinished"/> (registered for failed and timed-out ones only).</summary>
    public async Task<WorkResult> HandleAsync(RolloutFinished message, WorkContext work, CancellationToken ct)
    {
        if (message is { State: RolloutState.Failed or RolloutState.TimedOut } failed)
        {
            await AutomaticAsync(failed, ct);
        }
        return WorkResult.Done;
    }

    private const string AutomaticPrefix = "automatic rollback to ";
    private const string RequestedPrefix = "rollback to ";

    /// <summary>
    /// Why a rollback was made, from its approval's message: "the rollout of 1.1.0 failed — …" from "automatic rollback
    /// to 1.0.0: the rollout of 1.1.0 failed — …", the person's reason from "rollback to 1.1.0 requested by alice: …".
    /// </summary>
    public static string WhyOf(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var prefixed = message.StartsWith(AutomaticPrefix, StringComparison.Ordinal) || message.StartsWith(RequestedPrefix, StringComparison.Ordinal);
        var colon = prefixed ? message.IndexOf(": ", StringComparison.Ordinal) : -1;
        return colon > 0 ? message[(colon + 2)..] : message;
    }

    /// <summary>
    /// A failed rollout of an update the portal applied, on a workload with automatic rollback: the failed version is
    /// declined (skipped) and the version before it is applied again without waiting for votes. A rollback's own
    /// failure is not rolled back (no loop); it is left to people.
    /// </summary>
    internal async Task AutomaticAsync(RolloutFinished failed, CancellationToken ct)
    {
        var workload = await workloads.GetAsync(failed.WorkloadId, ct);
        if (workload is not { RollbackAuto: true })
        {
            return;
        }
        var record = await rollouts.GetAsync(failed.RolloutId, ct);
        var approval = record?.ApprovalId is { } approvalId ? await approvals.GetAsync(approvalId, ct) : null;
        if (approval is null || approval.RollbackBy is not null)
        {
            return; // Not an update the portal applied, or itself a rollback.
        }
        var why = $"the rollout of {failed.ToVersion} {(failed.State == RolloutState.TimedOut ? "did not finish in time" : "failed")} — {failed.Reason}";
        await holds.SkipAsync(workload.Id, failed.ToVersion, why, AuditTrail.System, ct);
        // What runs is the failed version, whatever the stored snapshot says yet: the rollout was judged from the watch,
        // and the snapshot the store holds may still be the one from before the apply.
        var target = (await TargetsAsync(workload.Id, failed.ToVersion, ct)).FirstOrDefault(t => t.Version == failed.FromVersion);
        if (target is null || workload.Containers.FirstOrDefault(c => c.Repository is not null) is not { } current)
        {
            LogNoTarget(workload.Id, failed.FromVersion);
            return;
        }
        var proposal = new Proposal(workload.Id, current.Repository!, failed.ToVersion, target.Version, target.Digest, target.Images,
            0, TimeSpan.FromHours(workload.ApprovalDeadlineHours), $"{AutomaticPrefix}{target.Version}: {why}", RollbackBy: AuditTrail.System);
        var result = await approvals.ProposeAsync(proposal, _ => true, ct);
        await audit.RecordAsync(AuditTrail.System, AuditActions.RollbackAutomatic, $"{workload.Id}:{target.Version}", $"{failed.ToVersion} -> {target.Version}; {why}; {result.Reason}", ct);
    }

    /// <summary>The versions the workload ran before its current one, newest first: every applied version and the one each replaced.</summary>
    public async Task<IReadOnlyList<RollbackTarget>> TargetsAsync(string workloadId, CancellationToken ct = default)
    {
        var workload = await workloads.GetAsync(workloadId, ct);
        return await TargetsAsync(workloadId, workload?.Containers.FirstOrDefault(c => c.Repository is not null)?.Tag, ct);
    }

    /// <summary>The versions the workload ran before <paramref name="current"/>, newest first.</summary>
    private async Task<IReadOnlyList<RollbackTarget>> TargetsAsync(string workloadId, string? current, CancellationToken ct)
    {
        var applied = (await approvals.ForWorkloadAsync(workloadId, ct)).Where(a => a.State == ApprovalState.Applied).OrderByDescending(a => a.UpdatedAtUtc).ToList();
        var targets = new List<RollbackTarget>();
        // First the versions applies brought in (their digests known), then the versions they replaced (tag only).
        foreach (var approval in applied)
        {
            Add(approval.NewVersion, approval.Digest, ApprovalBook.ImagesOf(approval).Select(i => new ImageUpdate(i.Container, ImageText.WithTag(i.Image, approval.NewVersion, approval.Digest))).ToList(), approval.UpdatedAtUtc);
        }
        foreach (var approval in applied)
        {
            Add(approval.CurrentVersion, null, ApprovalBook.ImagesOf(approval).Select(i => new ImageUpdate(i.Container, ImageText.WithTag(i.Image, approval.CurrentVersion))).ToList(), approval.UpdatedAtUtc);
        }
        return [.. targets.OrderByDescending(t => t.ChangedAtUtc)];

        void Add(string version, string? digest, IReadOnlyList<ImageUpdate> images, DateTime until)
        {
            if (version != current && targets.All(t => t.Version != version))
            {
                targets.Add(new RollbackTarget(version, digest, images, until));
            }
        }
    }

    /// <summary>Proposes going back to <paramref name="version"/>; the approval waits for the workload's votes (or applies at once when it needs none).</summary>
    public async Task<HoldResult> RequestAsync(string workloadId, string? version, string? reason, string actor, CancellationToken ct = default)
    {
        if (AuditReason.Problem(reason) is { } problem)
        {
            return new(HoldOutcome.Invalid, problem);
        }
        var workload = await workloads.GetAsync(workloadId, ct);
        if (workload is null)
        {
            return new(HoldOutcome.NoSuchWorkload, $"there is no workload {workloadId}");
        }
        var targets = await TargetsAsync(workloadId, ct);
        if (targets.FirstOrDefault(t => t.Version == version?.Trim()) is not { } target)
        {
            return new(HoldOutcome.Invalid, targets.Count == 0
                ? $"{workloadId} has no earlier version to go back to"
                : $"'{version}' is not an earlier version of {workloadId}; it can go back to {string.Join(", ", targets.Select(t => t.Version))}");
        }
        var current = workload.Containers.First(c => c.Repository is not null);
        var text = $"{RequestedPrefix}{target.Version} requested by {actor}: {reason!.Trim()}";
        var proposal = new Proposal(workloadId, current.Repository!, current.Tag!, target.Version, target.Digest, target.Images,
            workload.ApprovalsRequired, TimeSpan.FromHours(workload.ApprovalDeadlineHours), text, RollbackBy: actor);
        var result = await approvals.ProposeAsync(proposal, _ => true, ct);
        await audit.RecordAsync(actor, AuditActions.RollbackRequested, $"{workloadId}:{target.Version}", $"{current.Tag} -> {target.Version}{(target.Digest is { } d ? $" ({d})" : "")}; {reason!.Trim()}; {result.Reason}", ct);
        return result.Outcome is ProposalOutcome.Created or ProposalOutcome.AutoApproved
            ? new(HoldOutcome.Done, result.Outcome == ProposalOutcome.Created ? $"rollback to {target.Version} proposed: {result.Reason}" : $"rollback to {target.Version} approved: {result.Reason}")
            : new(HoldOutcome.Unchanged, result.Reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Workload}: its rollout failed, but {Version} (the version before) cannot be named again; nothing was rolled back")]
    private partial void LogNoTarget(string workload, string version);
}

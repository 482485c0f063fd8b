using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>
/// Applies one approved approval, as the work of its <see cref="ApprovalApproved"/> message. Safe to run twice: only
/// the caller that moves it to Applying under its work's claim writes; the claim is renewed while it works (by the
/// <see cref="WorkRunner"/>), checked right before the write and required by every end of the apply, so a resume after
/// a crash is harmless and a frozen applier that was taken over does nothing more. A failure worth retrying (the
/// cluster unreachable, a server error) goes back to Approved and is tried again by the one retry policy; on the last
/// attempt it fails.
/// </summary>
public sealed partial class ApplyHandler(
    ApprovalBook approvals,
    IEnumerable<IWorkloadProvider> providers,
    RolloutTracker rollouts,
    DigestConfirmation digests,
    WorkloadChecks checks,
    Holds holds,
    WorkloadLocks locks,
    Delivery.DeliverySchedule schedule,
    AuditTrail audit,
    TimeProvider time,
    Telemetry.PortalMetrics metrics,
    ILogger<ApplyHandler> logger) : IMessageHandler<ApprovalApproved>
{
    public async Task<WorkResult> HandleAsync(ApprovalApproved message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        var approvalId = message.ApprovalId;
        // Every line logged while applying (the applier's, Helm's) says which approval it is about.
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["ApprovalId"] = approvalId });
        if (await WaitsForWindowAsync(approvalId, ct) is { } wait)
        {
            return wait;
        }
        // Applies of one workload never race here: the second one decides against what the first one wrote.
        var workload = await approvals.WorkloadOfAsync(approvalId, ct);
        if (workload is null)
        {
            return WorkResult.Done;
        }
        using var _ = await locks.TakeAsync(workload, ct);
        var approval = await approvals.TryClaimAsync(approvalId, work.Token, ct);
        if (approval is null)
        {
            return WorkResult.Done; // Not approved (any more), or another live claim is applying it.
        }
        return await ApplyClaimedAsync(approval, work, ct);
    }

    /// <summary>Given up (an unexpected failure on every attempt): the approval fails, with the reason, instead of waiting for ever.</summary>
    public async Task GaveUpAsync(ApprovalApproved message, WorkContext work, string reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        if (!await approvals.FinishAsync(message.ApprovalId, work.Token, succeeded: false, reason, null, ct: ct))
        {
            await approvals.FailApprovedAsync(message.ApprovalId, reason, ct);
        }
    }

    private async Task<WorkResult> ApplyClaimedAsync(Approval approval, WorkContext work, CancellationToken ct)
    {
        var approvalId = approval.Id;
        // The apply joins the trace of the poll or webhook that proposed the update; its rollout joins it too.
        using var activity = Telemetry.PortalTelemetry.StartIn("keelportal.apply", approval.TraceParent,
            ("keelportal.approval.id", approval.Id), ("keelportal.workload", approval.WorkloadId), ("keelportal.version", approval.NewVersion));
        var digest = await digests.ConfirmAsync(approval, ct);
        if (digest is null && approval.Digest is not null)
        {
            return WorkResult.Done; // The tag was pushed again since the votes were cast: they were reset and it waits for new ones.
        }
        var token = work.Token;
        // Checked right before each write: once another applier took the claim over, this one neither writes nor finishes.
        var request = new ApplyRequest(approval.WorkloadId, ApprovalBook.ImagesOf(approval), approval.CurrentVersion, approval.NewVersion, digest,
            OnlyForward: approval.RollbackBy is null)
        {
            Fence = async fenceCt => await work.HoldsAsync(fenceCt) && await approvals.HoldsClaimAsync(approvalId, token, fenceCt) && work.StillHolds(),
        };
        var result = WorkloadId.TryParse(approval.WorkloadId, out var kind, out _, out _) && providers.FirstOrDefault(p => p.Owns(kind)) is { } provider
            ? await provider.ApplyAsync(request, ct)
            : new ApplyResult(ApplyOutcome.Invalid, $"'{approval.WorkloadId}' is not a workload identifier such as deployment/default/web");
        if (result.Outcome == ApplyOutcome.ClaimLost)
        {
            LogClaimLost(approval.Identifier);
            return WorkResult.Lost;
        }
        Count(approval, result, work);
        return await EndAsync(approval, result, work, ct);
    }

    private void Count(Approval approval, ApplyResult result, WorkContext work)
    {
        metrics.Applies.Add(1, new("provider", WorkloadId.Provider(approval.WorkloadId)), new("outcome", result.Outcome.ToString()));
        if (result.Outcome != ApplyOutcome.Applied)
        {
            return;
        }
        if (WorkloadId.TryParse(approval.WorkloadId, out var kind, out var ns, out var name))
        {
            var versioned = approval.NewVersion != approval.CurrentVersion && Policies.KeelVersion.TryParse(approval.NewVersion, out _);
            metrics.KeelUpdate(kind == WorkloadKind.HelmRelease, ns, name, versioned);
        }
        if (work.Attempt == 1)
        {
            metrics.VoteToPatch.Record((time.GetUtcNow().UtcDateTime - work.OccurredAtUtc).TotalSeconds);
        }
    }

    private async Task<WorkResult> EndAsync(Approval approval, ApplyResult result, WorkContext work, CancellationToken ct)
    {
        var (approvalId, token) = (approval.Id, work.Token);
        switch (result.Outcome)
        {
            case ApplyOutcome.Applied or ApplyOutcome.AlreadyAtTarget:
                if (!await approvals.FinishAsync(approvalId, token, succeeded: true, result.Reason, result.Generation, result.FromVersion, ct))
                {
                    LogClaimLost(approval.Identifier);
                    return WorkResult.Done;
                }
                await AfterAppliedAsync(approval, result, ct);
                return WorkResult.Done;
            case ApplyOutcome.Superseded:
                return await SupersededAsync(approval, result, work, ct);
            case ApplyOutcome.ApiError or ApplyOutcome.NoCluster or ApplyOutcome.Busy when !work.IsLastAttempt:
                if (!await approvals.ReleaseAsync(approvalId, $"attempt {approval.ApplyAttempts} failed, retrying: {result.Reason}", token, ct))
                {
                    LogClaimLost(approval.Identifier);
                    return WorkResult.Done;
                }
                await audit.RecordAsync(AuditTrail.System, AuditActions.ApplyRetrying, approval.Identifier, result.Reason, ct);
                return WorkResult.Retry(result.Reason);
            default:
                var reason = work.Attempt > 1 ? $"{result.Reason} (attempt {work.Attempt} of {work.MaxAttempts})" : result.Reason;
                if (!await approvals.FinishAsync(approvalId, token, succeeded: false, reason, null, ct: ct))
                {
                    LogClaimLost(approval.Identifier);
                }
                return WorkResult.Done;
        }
    }

    /// <summary>
    /// The workload is past the target at the moment of the write. On a later attempt, if an earlier attempt's write landed (a later update started
    /// from the target) it was applied, and is recorded so; while a later update is still being applied that cannot be
    /// told yet, so the apply is given back and decided again after it; otherwise it was superseded.
    /// </summary>
    private async Task<WorkResult> SupersededAsync(Approval approval, ApplyResult result, WorkContext work, CancellationToken ct)
    {
        var (approvalId, token) = (approval.Id, work.Token);
        switch (await approvals.EarlierWriteAsync(approval, ct))
        {
            case EarlierWrite.Landed:
                var landed = $"{approval.NewVersion} was written by an earlier attempt (the next update started from it); "
                    + $"{approval.WorkloadId} has moved on to {result.FromVersion} since";
                if (!await approvals.FinishAsync(approvalId, token, succeeded: true, landed, null, ct: ct))
                {
                    LogClaimLost(approval.Identifier);
                }
                return WorkResult.Done;
            case EarlierWrite.Unsettled when !work.IsLastAttempt:
                var wait = $"{approval.WorkloadId} runs {result.FromVersion} now and a newer update is being applied: decided again after it ends";
                if (!await approvals.ReleaseAsync(approvalId, wait, token, ct))
                {
                    LogClaimLost(approval.Identifier);
                    return WorkResult.Done;
                }
                return WorkResult.Retry(wait);
            default:
                if (!await approvals.SupersedeAppliedAsync(approvalId, token, result.Reason, ct))
                {
                    LogClaimLost(approval.Identifier);
                }
                return WorkResult.Done;
        }
    }

    /// <summary>Applied: the rollout is followed, and a rollback a person asked for holds the workload where it went.</summary>
    private async Task AfterAppliedAsync(Approval approval, ApplyResult result, CancellationToken ct)
    {
        await checks.AppliedAsync(approval.WorkloadId, approval.Repository, approval.NewVersion, ct);
        // Followed by the tracker from the watchers' events: no worker waits for it. A Helm release's apply names
        // the workloads the release owns, each with the generation its rollout must reach.
        foreach (var (workload, generation) in result.Follow ?? (result.Generation is { } g ? [(approval.WorkloadId, g)] : []))
        {
            await rollouts.StartAsync(workload, generation, result.FromVersion ?? approval.CurrentVersion, approval.NewVersion, approval.Id, ct);
        }
        if (approval.RollbackBy is { } requester && requester != AuditTrail.System)
        {
            // Held where it was rolled back to, so the next poll does not propose the version it left.
            await holds.HoldAsync(approval.WorkloadId, $"rolled back from {result.FromVersion ?? approval.CurrentVersion} to {approval.NewVersion} by {requester}",
                null, requester, ct);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Approval}: another applier took the claim over (this one ran past its lease); nothing more is written here")]
    private partial void LogClaimLost(string approval);

    /// <summary>
    /// Outside its change window or during a freeze an approved update waits, "scheduled for" the time it may go (the
    /// apply work waits until then, and looks again). An administrator's override and an automatic rollback do not wait.
    /// </summary>
    private async Task<WorkResult?> WaitsForWindowAsync(long approvalId, CancellationToken ct)
    {
        if (!await schedule.AnyRulesAsync(ct))
        {
            return null; // No window and no freeze: nothing to read.
        }
        var approval = await approvals.GetAsync(approvalId, ct);
        if (approval is not { State: ApprovalState.Approved, OverrideBy: null } || approval.RollbackBy == AuditTrail.System)
        {
            return null;
        }
        var verdict = await schedule.WhenAsync(approval.WorkloadId, ct);
        if (verdict.Now)
        {
            return null;
        }
        // Looked at again for the same reason (a window that cannot be read is re-checked every few minutes), it is
        // scheduled anew without another audit entry.
        if (await approvals.ScheduleAsync(approvalId, verdict.AtUtc, verdict.Reason!, ct) && approval.ScheduleReason != verdict.Reason)
        {
            await audit.RecordAsync(AuditTrail.System, AuditActions.ApplyScheduled, approval.Identifier, $"scheduled for {verdict.AtUtc:yyyy-MM-dd HH:mm}Z: {verdict.Reason}", ct);
        }
        return WorkResult.WaitUntil(verdict.AtUtc, verdict.Reason!);
    }
}

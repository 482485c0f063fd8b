using Hangfire;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Workloads;
using Microsoft.Extensions.Options;

namespace KeelPortal.Updates;

/// <summary>
/// Applies one approved approval. Safe to run twice: only the caller that moves it to Applying writes, under a claim it
/// renews while it works and whose token is checked right before the write and by every end of the apply, so a resume
/// after a crash is harmless and a frozen applier that was taken over does nothing more. Retries are ours (bounded),
/// not Hangfire's.
/// </summary>
public sealed partial class ApplyJob(
    ApprovalBook approvals,
    IEnumerable<IWorkloadProvider> providers,
    RolloutTracker rollouts,
    DigestConfirmation digests,
    WorkloadChecks checks,
    Holds holds,
    WorkloadLocks locks,
    Delivery.DeliverySchedule schedule,
    AuditTrail audit,
    IBackgroundJobClient jobs,
    IOptions<UpdatesOptions> options,
    TimeProvider time,
    ILogger<ApplyJob> logger)
{
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(long approvalId, CancellationToken ct)
    {
        var o = options.Value;
        // Every line logged while applying (the applier's, Helm's) says which approval it is about.
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["ApprovalId"] = approvalId });
        if (await WaitsForWindowAsync(approvalId, ct))
        {
            return;
        }
        // Applies of one workload never race here: the second one decides against what the first one wrote.
        var workload = await approvals.WorkloadOfAsync(approvalId, ct);
        if (workload is null)
        {
            return;
        }
        using var _ = await locks.TakeAsync(workload, ct);
        var approval = await approvals.TryClaimAsync(approvalId, o.ApplyLease, ct);
        if (approval is null)
        {
            return;
        }
        await ApplyClaimedAsync(approval, o, ct);
    }

    private async Task ApplyClaimedAsync(Approval approval, UpdatesOptions o, CancellationToken ct)
    {
        var approvalId = approval.Id;
        // The apply joins the trace of the poll or webhook that proposed the update; its rollout joins it too.
        using var activity = Telemetry.PortalTelemetry.StartIn("keelportal.apply", approval.TraceParent,
            ("keelportal.approval.id", approval.Id), ("keelportal.workload", approval.WorkloadId), ("keelportal.version", approval.NewVersion));
        var digest = await digests.ConfirmAsync(approval, ct);
        if (digest is null && approval.Digest is not null)
        {
            return; // The tag was pushed again since the votes were cast: they were reset and it waits for new ones.
        }
        var token = approval.ClaimToken!;
        // The claim is renewed while the provider works (a slow apply is not a dead one) and checked right before each
        // write: once another applier took it over, this one neither writes nor finishes.
        var request = new ApplyRequest(approval.WorkloadId, ApprovalBook.ImagesOf(approval), approval.CurrentVersion, approval.NewVersion, digest,
            OnlyForward: approval.RollbackBy is null)
        {
            Fence = fenceCt => approvals.RenewClaimAsync(approvalId, token, fenceCt),
        };
        ApplyResult result;
        using (var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var beating = HeartbeatAsync(approvalId, token, o.ApplyLease / 3, heartbeat.Token);
            try
            {
                result = WorkloadId.TryParse(approval.WorkloadId, out var kind, out _, out _) && providers.FirstOrDefault(p => p.Owns(kind)) is { } provider
                    ? await provider.ApplyAsync(request, ct)
                    : new ApplyResult(ApplyOutcome.Invalid, $"'{approval.WorkloadId}' is not a workload identifier such as deployment/default/web");
            }
            finally
            {
                await heartbeat.CancelAsync();
                await beating;
            }
        }
        if (result.Outcome == ApplyOutcome.ClaimLost)
        {
            LogClaimLost(approval.Identifier);
            return;
        }
        Telemetry.PortalTelemetry.Applies.Add(1, new("provider", WorkloadId.Provider(approval.WorkloadId)), new("outcome", result.Outcome.ToString()));
        if (result.Outcome == ApplyOutcome.Applied)
        {
            foreach (var image in request.Images)
            {
                Telemetry.PortalTelemetry.KeelVersionedUpdates.Add(1, new KeyValuePair<string, object?>("image", image.Image));
            }
        }
        switch (result.Outcome)
        {
            case ApplyOutcome.Applied or ApplyOutcome.AlreadyAtTarget:
                if (!await approvals.FinishAsync(approvalId, token, succeeded: true, result.Reason, result.Generation, result.FromVersion, ct))
                {
                    LogClaimLost(approval.Identifier);
                    return;
                }
                await checks.AppliedAsync(approval.WorkloadId, approval.Repository, approval.NewVersion, ct);
                // Followed by the tracker from the watchers' events: no worker waits for it. A Helm release's apply names
                // the workloads the release owns, each with the generation its rollout must reach.
                foreach (var (workload, generation) in result.Follow ?? (result.Generation is { } g ? [(approval.WorkloadId, g)] : []))
                {
                    await rollouts.StartAsync(workload, generation, result.FromVersion ?? approval.CurrentVersion, approval.NewVersion, approvalId, ct);
                }
                if (approval.RollbackBy is { } requester && requester != ApprovalBook.System)
                {
                    // Held where it was rolled back to, so the next poll does not propose the version it left.
                    await holds.HoldAsync(approval.WorkloadId, $"rolled back from {result.FromVersion ?? approval.CurrentVersion} to {approval.NewVersion} by {requester}",
                        null, requester, ct);
                }
                break;
            case ApplyOutcome.Superseded:
                if (!await approvals.SupersedeAppliedAsync(approvalId, token, result.Reason, ct))
                {
                    LogClaimLost(approval.Identifier);
                }
                break;
            case ApplyOutcome.ApiError or ApplyOutcome.NoCluster or ApplyOutcome.Busy when approval.ApplyAttempts < o.MaxApplyAttempts:
                if (!await approvals.ReleaseAsync(approvalId, $"attempt {approval.ApplyAttempts} failed, retrying: {result.Reason}", token, ct))
                {
                    LogClaimLost(approval.Identifier);
                    return;
                }
                await audit.RecordAsync(ApprovalBook.System, "apply.retrying", approval.Identifier, result.Reason, ct);
                jobs.Schedule<ApplyJob>(j => j.RunAsync(approvalId, CancellationToken.None), o.ApplyRetryDelay);
                break;
            default:
                if (!await approvals.FinishAsync(approvalId, token, succeeded: false, result.Reason, null, ct: ct))
                {
                    LogClaimLost(approval.Identifier);
                }
                break;
        }
    }

    /// <summary>Renews the claim every <paramref name="period"/> until the apply ends or the claim is lost.</summary>
    private async Task HeartbeatAsync(long approvalId, string token, TimeSpan period, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                if (!await approvals.RenewClaimAsync(approvalId, token, ct))
                {
                    return; // Taken over: the fence before the write and the conditional finish stop this apply.
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // A failed renewal is tried again at the next tick; the fence decides before any write.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogHeartbeatFailed(e, approvalId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Approval}: another applier took the claim over (this one ran past its lease); nothing more is written here")]
    private partial void LogClaimLost(string approval);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the apply claim of approval {ApprovalId} failed")]
    private partial void LogHeartbeatFailed(Exception exception, long approvalId);

    /// <summary>
    /// Outside its change window or during a freeze an approved update waits, "scheduled for" the time it may go (the
    /// dispatcher applies it then, looked at again). An administrator's override and an automatic rollback do not wait.
    /// </summary>
    private async Task<bool> WaitsForWindowAsync(long approvalId, CancellationToken ct)
    {
        if (!await schedule.AnyRulesAsync(ct))
        {
            return false; // No window and no freeze: nothing to read.
        }
        var approval = await approvals.GetAsync(approvalId, ct);
        if (approval is not { State: ApprovalState.Approved, OverrideBy: null } || approval.RollbackBy == ApprovalBook.System)
        {
            return false;
        }
        var verdict = await schedule.WhenAsync(approval.WorkloadId, ct);
        if (verdict.Now)
        {
            return false;
        }
        // Looked at again for the same reason (a window that cannot be read is re-checked every few minutes), it is
        // scheduled anew without another audit entry.
        if (await approvals.ScheduleAsync(approvalId, verdict.AtUtc, verdict.Reason!, ct) && approval.ScheduleReason != verdict.Reason)
        {
            await audit.RecordAsync(ApprovalBook.System, "apply.scheduled", approval.Identifier, $"scheduled for {verdict.AtUtc:yyyy-MM-dd HH:mm}Z: {verdict.Reason}", ct);
        }
        return true;
    }
}

/// <summary>
/// Jobs queued by earlier versions, which waited for the rollout here: hands it to the tracker (idempotent) and ends.
/// </summary>
public sealed class RolloutJob(ApprovalBook approvals, RolloutTracker tracker)
{
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(long approvalId, long generation, CancellationToken ct)
    {
        if (await approvals.GetAsync(approvalId, ct) is { } approval)
        {
            await tracker.StartAsync(approval.WorkloadId, generation, approval.CurrentVersion, approval.NewVersion, approvalId, ct);
        }
    }
}

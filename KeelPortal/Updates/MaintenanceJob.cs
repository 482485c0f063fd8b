using Hangfire;
using KeelPortal.Approvals;

namespace KeelPortal.Updates;

/// <summary>Every minute: pending approvals past their deadline expire.</summary>
public sealed class MaintenanceJob(ApprovalBook approvals)
{
    public const string Id = "approvals:maintenance";

    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public Task RunAsync(CancellationToken ct) => approvals.ExpireAsync(ct);
}

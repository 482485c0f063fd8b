using Hangfire;
using KeelPortal.Approvals;
using Microsoft.Extensions.Options;

namespace KeelPortal.Updates;

/// <summary>Every minute: expire pending approvals past their deadline, and pick up approvals nobody is applying.</summary>
public sealed class MaintenanceJob(ApprovalBook approvals, IBackgroundJobClient jobs, IOptions<UpdatesOptions> options)
{
    public const string Id = "approvals:maintenance";

    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task RunAsync(CancellationToken ct)
    {
        await approvals.ExpireAsync(ct);
        foreach (var id in await approvals.StrandedAsync(options.Value.ApplyLease, ct: ct))
        {
            jobs.Enqueue<ApplyJob>(j => j.RunAsync(id, CancellationToken.None));
        }
    }
}

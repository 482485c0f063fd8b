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

/// <summary>Registers the <see cref="MaintenanceJob"/> with the job server at start (the poll jobs are the poll scheduler's).</summary>
public sealed class MaintenanceSchedule(IRecurringJobManager recurring) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        recurring.AddOrUpdate<MaintenanceJob>(MaintenanceJob.Id, j => j.RunAsync(CancellationToken.None), Cron.Minutely());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

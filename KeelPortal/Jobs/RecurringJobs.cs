using Hangfire;
using KeelPortal.Updates;

namespace KeelPortal.Jobs;

/// <summary>
/// The fixed recurring jobs, in one place. The per-repository poll jobs come and go with the workloads and are kept by
/// <see cref="Triggers.PollScheduler"/>.
/// </summary>
public sealed class RecurringJobs(IRecurringJobManager recurring) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        recurring.AddOrUpdate<MaintenanceJob>(MaintenanceJob.Id, j => j.RunAsync(CancellationToken.None), Cron.Minutely());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

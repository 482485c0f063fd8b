using Hangfire;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Jobs;
using Microsoft.Extensions.Options;

namespace KeelPortal.Updates;

/// <summary>
/// Applies every approved approval at once in this process, so the final vote reaches the cluster without waiting for
/// the job queue's next poll. The approval is already stored as approved: an apply that throws is handed to the job
/// queue, and one lost with the process is picked up at start-up and by the maintenance job (the claim makes a second
/// run harmless).
/// </summary>
public sealed partial class ApplyDispatcher(
    EventHub events, ApprovalBook approvals, PromptRunner runner, IBackgroundJobClient jobs,
    IOptions<UpdatesOptions> options, ILogger<ApplyDispatcher> logger)
    : IHostedService
{
    private IDisposable? subscription;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        subscription = events.Subscribe<ApprovalApproved>(approved => Apply(approved.ApprovalId));
        foreach (var id in await approvals.StrandedAsync(options.Value.ApplyLease, cancellationToken))
        {
            LogResuming(id);
            Apply(id);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        subscription?.Dispose();
        return Task.CompletedTask;
    }

    private void Apply(long approvalId)
    {
        var approved = System.Diagnostics.Stopwatch.GetTimestamp();
        runner.TryRun<ApplyJob>($"Applying approval {approvalId}", async (job, ct) =>
        {
            await job.RunAsync(approvalId, ct);
            Telemetry.PortalTelemetry.VoteToPatch.Record(System.Diagnostics.Stopwatch.GetElapsedTime(approved).TotalSeconds);
        }, _ => jobs.Enqueue<ApplyJob>(j => j.RunAsync(approvalId, CancellationToken.None)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId} was left approved or half-applied; applying it")]
    private partial void LogResuming(long approvalId);
}

using Hangfire;
using KeelPortal.Approvals;
using KeelPortal.Data;
using Microsoft.Extensions.Options;

namespace KeelPortal.Updates;

/// <summary>
/// Hands every approved approval to an <see cref="ApplyJob"/>, and at start-up picks up the ones a stopped instance
/// left approved or half-applied.
/// </summary>
public sealed partial class ApplyDispatcher(
    EventHub events, ApprovalBook approvals, IBackgroundJobClient jobs, IOptions<UpdatesOptions> options, ILogger<ApplyDispatcher> logger)
    : IHostedService
{
    private IDisposable? subscription;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        subscription = events.Subscribe<ApprovalApproved>(approved => Enqueue(approved.ApprovalId));
        foreach (var id in await approvals.StrandedAsync(options.Value.ApplyLease, cancellationToken))
        {
            LogResuming(id);
            Enqueue(id);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        subscription?.Dispose();
        return Task.CompletedTask;
    }

    private void Enqueue(long approvalId) => jobs.Enqueue<ApplyJob>(j => j.RunAsync(approvalId, CancellationToken.None));

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId} was left approved or half-applied; applying it")]
    private partial void LogResuming(long approvalId);
}

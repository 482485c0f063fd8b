using Hangfire;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Jobs;
using Microsoft.Extensions.Options;

namespace KeelPortal.Updates;

/// <summary>
/// Applies every approved approval at once on the replica that claimed its <see cref="ApprovalApproved"/> event, so
/// the final vote reaches the cluster without waiting for the job queue's next poll. The approval is already stored as
/// approved: an apply that throws is handed to the job queue, and one lost with the process is picked up at start-up
/// and by the maintenance job (the claim makes a second run harmless).
/// </summary>
public sealed partial class ApplyDispatcher(
    ApprovalBook approvals, PromptRunner runner, IBackgroundJobClient jobs,
    IOptions<UpdatesOptions> options, TimeProvider time, ILogger<ApplyDispatcher> logger)
    : IHostedService, IEventWork, IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private Task sweeping = Task.CompletedTask;
    private int disposed;

    public Task HandleAsync(object message, DateTime occurredAtUtc, CancellationToken ct)
    {
        if (message is ApprovalApproved approved)
        {
            Apply(approved.ApprovalId);
        }
        return Task.CompletedTask;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var id in await approvals.StrandedAsync(options.Value.ApplyLease, ct: cancellationToken))
        {
            LogResuming(id);
            Apply(id);
        }
        sweeping = Task.WhenAll(SweepAsync(stopping.Token), DueAsync(stopping.Token));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref disposed) == 1)
        {
            return;
        }
        await stopping.CancelAsync();
        await sweeping.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Registered under three service types, so the container may dispose it more than once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            stopping.Cancel();
            stopping.Dispose();
        }
    }

    /// <summary>
    /// Every half lease: approvals another replica left approved or half-applied when it died (its claim older than
    /// the lease) are applied here; one still being applied, or waiting for its retry, is left alone.
    /// </summary>
    private Task SweepAsync(CancellationToken ct)
    {
        var lease = options.Value.ApplyLease;
        return EveryAsync(lease / 2, async token =>
        {
            var stranded = await approvals.StrandedAsync(lease, approvedFor: lease, token);
            foreach (var id in stranded)
            {
                LogResuming(id);
            }
            return stranded;
        }, ct);
    }

    /// <summary>
    /// Every <see cref="UpdatesOptions.ScheduleCheckInterval"/>: approvals scheduled for a change window or a freeze's end
    /// whose time has come are applied (each looked at again first; the claim keeps it to one replica).
    /// </summary>
    private Task DueAsync(CancellationToken ct) => EveryAsync(options.Value.ScheduleCheckInterval, approvals.DueAsync, ct);

    /// <summary>Every <paramref name="period"/>, applies what <paramref name="find"/> names; a failed look is logged and tried next time.</summary>
    private async Task EveryAsync(TimeSpan period, Func<CancellationToken, Task<IReadOnlyList<long>>> find, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    foreach (var id in await find(ct))
                    {
                        Apply(id);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogSweepFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for approvals left approved or half-applied failed; looking again later")]
    private partial void LogSweepFailed(Exception exception);
}

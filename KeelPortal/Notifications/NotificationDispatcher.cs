using Hangfire;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Workloads;

namespace KeelPortal.Notifications;

/// <summary>
/// Listens for approvals and rollouts changing and enqueues a job that notifies about each change. The enqueue is a
/// durable write, so the publisher (a vote, an apply) is never held up by the channels.
/// </summary>
public sealed class NotificationDispatcher(EventHub events, IBackgroundJobClient jobs, IServiceProvider services, TimeProvider time) : IHostedService
{
    private IDisposable[] subscriptions = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Deliveries a stopped instance left waiting get their turn again (a job run twice sends once).
        await services.GetRequiredService<NotificationCenter>().ResumeAsync(cancellationToken);
        subscriptions =
        [
            events.Subscribe<ApprovalProposed>(p => Approval(p.ApprovalId, NotificationEvents.ApprovalRequired)),
            events.Subscribe<ApprovalChanged>(c =>
            {
                if (EventOf(c.State) is { } e)
                {
                    Approval(c.ApprovalId, e);
                }
            }),
            events.Subscribe<RolloutFinished>(r => jobs.Enqueue<NotificationSources>(j => j.RolloutAsync(r.RolloutId, Now(), CancellationToken.None))),
        ];
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var subscription in Interlocked.Exchange(ref subscriptions, []))
        {
            subscription.Dispose();
        }
        return Task.CompletedTask;
    }

    /// <summary>The event an approval's new state is, if any (pending is <see cref="ApprovalProposed"/>; applying is not news).</summary>
    public static NotificationEvents? EventOf(ApprovalState state) => state switch
    {
        ApprovalState.Approved => NotificationEvents.Approved,
        ApprovalState.Rejected => NotificationEvents.Rejected,
        ApprovalState.Expired => NotificationEvents.Expired,
        ApprovalState.Superseded => NotificationEvents.Superseded,
        ApprovalState.Applied => NotificationEvents.UpdateApplied,
        ApprovalState.Failed => NotificationEvents.UpdateFailed,
        _ => null,
    };

    private void Approval(long id, NotificationEvents e) => jobs.Enqueue<NotificationSources>(j => j.ApprovalAsync(id, e, Now(), CancellationToken.None));

    private DateTime Now() => time.GetUtcNow().UtcDateTime;
}

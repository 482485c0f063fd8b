using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Workloads;

namespace KeelPortal.Notifications;

/// <summary>
/// Turns the outbox's approval and rollout events into deliveries, on the one replica that claimed each event. Raising
/// the same event twice (a claim that ran out mid-way) records each delivery once, by its event key.
/// </summary>
public sealed class NotificationWork(NotificationSources sources) : IEventWork
{
    /// <summary>The events that carry notification work.</summary>
    public static void Register(OutboxTypes types)
    {
        ArgumentNullException.ThrowIfNull(types);
        types.Add<ApprovalProposed>(_ => true)
            .Add<ApprovalChanged>(c => c.StateMoved && EventOf(c.State) is not null)
            .Add<RolloutFinished>(_ => true);
    }

    public Task HandleAsync(object message, DateTime occurredAtUtc, CancellationToken ct) => message switch
    {
        ApprovalProposed p => sources.ApprovalAsync(p.ApprovalId, NotificationEvents.ApprovalRequired, occurredAtUtc, ct),
        ApprovalChanged { StateMoved: true } c when EventOf(c.State) is { } e => sources.ApprovalAsync(c.ApprovalId, e, occurredAtUtc, ct),
        RolloutFinished r => sources.RolloutAsync(r.RolloutId, occurredAtUtc, ct),
        _ => Task.CompletedTask,
    };

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
}

/// <summary>At start-up: deliveries a stopped instance left waiting get their turn again (a job run twice sends once).</summary>
public sealed class DeliveryResume(IServiceScopeFactory scopes) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<NotificationCenter>().ResumeAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

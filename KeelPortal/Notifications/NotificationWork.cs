using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Workloads;

namespace KeelPortal.Notifications;

/// <summary>
/// Turns the outbox's approval and rollout events into deliveries, as their work (one replica, once). Raising the same
/// event twice (an attempt tried again) records each delivery once, by its event key.
/// </summary>
public sealed class NotificationWork(NotificationSources sources)
    : IMessageHandler<ApprovalProposed>, IMessageHandler<ApprovalChanged>, IMessageHandler<RolloutFinished>
{
    /// <summary>One at a time per replica, in the order they happened: a channel hears of them in that order.</summary>
    public const string Lane = "notifications";

    /// <summary>Registers the events that carry notification work, and the deliveries' own work.</summary>
    public static void Register(IServiceCollection services)
    {
        services.AddHandler<ApprovalProposed, NotificationWork>(lane: Lane);
        services.AddHandler<ApprovalChanged, NotificationWork>(c => c.StateMoved && EventOf(c.State) is not null, Lane);
        services.AddHandler<RolloutFinished, NotificationWork>(lane: Lane);
        services.AddHandler<ChannelWaiting, ChannelTurns>();
        services.AddHandler<DeliveryDue, DeliveryHandler>();
    }

    public async Task<WorkResult> HandleAsync(ApprovalProposed message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        await sources.ApprovalAsync(message.ApprovalId, NotificationEvents.ApprovalRequired, work.OccurredAtUtc, ct);
        return WorkResult.Done;
    }

    public async Task<WorkResult> HandleAsync(ApprovalChanged message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        if (message.StateMoved && EventOf(message.State) is { } e)
        {
            await sources.ApprovalAsync(message.ApprovalId, e, work.OccurredAtUtc, ct);
        }
        return WorkResult.Done;
    }

    public async Task<WorkResult> HandleAsync(RolloutFinished message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        await sources.RolloutAsync(message.RolloutId, work.OccurredAtUtc, ct);
        return WorkResult.Done;
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
}

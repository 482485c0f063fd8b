using System.Text.Json;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Notifications;

/// <summary>A delivery's turn has come: its channel sends nothing else until it is delivered or given up.</summary>
public sealed record DeliveryDue(long DeliveryId);

/// <summary>Something was recorded for, or finished on, a channel: its next delivery may go (see <see cref="NotificationCenter.KickAsync"/>).</summary>
public sealed record ChannelWaiting(string Channel);

/// <summary>
/// Posts one delivery, as the work of its <see cref="DeliveryDue"/>. The claim is renewed before the post and checked
/// again, by the monotonic clock, as the body's first byte is written (<see cref="DeliveryFence"/>); the outcome is
/// written only while the claim holds. So a replica frozen past its lease neither posts again nor records over the one
/// that took it over; what it cannot take back is a request it had already sent when it froze, which the receiver
/// may see twice, with one <c>Idempotency-Key</c>. A receiver error (5xx, 408, 429) or no answer is tried again by the one
/// retry policy (a longer <c>Retry-After</c> wins); any other 4xx, or the last attempt, is final. Each channel reads
/// its events in order: its next delivery is queued in the same transaction that ends this one.
/// </summary>
public sealed partial class DeliveryHandler(
    IDbContextFactory<PortalDbContext> contexts,
    ChannelDirectory directory,
    INotifier notifier,
    Outbox outbox,
    TimeProvider time,
    Telemetry.PortalMetrics metrics,
    ILogger<DeliveryHandler> logger) : IMessageHandler<DeliveryDue>
{
    public async Task<WorkResult> HandleAsync(DeliveryDue message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        var delivery = await FindAsync(message.DeliveryId, ct);
        if (delivery is null || delivery.State is DeliveryState.Delivered or DeliveryState.Failed)
        {
            return WorkResult.Done;
        }
        var channel = await directory.FindAsync(delivery.ChannelName, ct);
        var notification = JsonSerializer.Deserialize<Notification>(delivery.NotificationJson, NotificationCenter.Json)!;
        if (!await work.HoldsAsync(ct) || !await StartAttemptAsync(delivery.Id, work, ct))
        {
            return WorkResult.Lost; // Taken over: the replica that holds the claim posts it.
        }
        var attempt = channel switch
        {
            null => new DeliveryAttempt(false, false, null, "the channel was removed, or its target can no longer be decrypted"),
            { Enabled: false } => new DeliveryAttempt(false, false, null, "the channel was disabled"),
            // The claim is asked once more as the body's first byte is written: a sender that stood still since is fenced off there.
            _ => await notifier.SendAsync(channel, notification, ct, new DeliveryFence($"keelportal-delivery-{delivery.Id}", work.StillHolds)),
        };
        if (attempt.FencedOff)
        {
            LogFencedOff(notification.Event, delivery.ChannelName);
            return WorkResult.Lost;
        }
        metrics.Deliveries.Add(1, new("kind", channel?.Type.ToString() ?? "removed"), new("outcome", attempt.Delivered ? "delivered" : "failed"));
        var retry = !attempt.Delivered && attempt.Retryable && !work.IsLastAttempt;
        var state = attempt.Delivered ? DeliveryState.Delivered : retry ? DeliveryState.Retrying : DeliveryState.Failed;
        if (!await RecordAsync(delivery, work, state, attempt.StatusCode, attempt.Answer))
        {
            return WorkResult.Lost;
        }
        if (retry)
        {
            LogRetrying(notification.Event, delivery.ChannelName, work.Attempt, attempt.Answer);
            return WorkResult.Retry(attempt.Answer, attempt.RetryAfter is { } after ? time.GetUtcNow().UtcDateTime + after : null);
        }
        if (attempt.Delivered)
        {
            LogDelivered(notification.Event, delivery.ChannelName, work.Attempt);
        }
        else
        {
            LogFailed(notification.Event, delivery.ChannelName, work.Attempt, attempt.Answer);
        }
        return WorkResult.Done;
    }

    /// <summary>Given up (it threw every time): the delivery fails with the reason and the channel goes on with its next.</summary>
    public async Task GaveUpAsync(DeliveryDue message, WorkContext work, string reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        if (await FindAsync(message.DeliveryId, ct) is { State: DeliveryState.Pending or DeliveryState.Retrying } delivery)
        {
            await RecordAsync(delivery, work, DeliveryState.Failed, null, reason);
        }
    }

    private async Task<NotificationDelivery?> FindAsync(long deliveryId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<NotificationDelivery>().AsNoTracking().SingleOrDefaultAsync(d => d.Id == deliveryId, ct);
    }

    /// <summary>The attempt is on its way (the channel's log shows it), counted only while the claim holds.</summary>
    private async Task<bool> StartAttemptAsync(long deliveryId, WorkContext work, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var held = work.Held(db);
        return await db.Set<NotificationDelivery>().Where(d => d.Id == deliveryId && held.Any())
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Attempts, work.Attempt).SetProperty(d => d.UpdatedAtUtc, time.GetUtcNow().UtcDateTime), ct) == 1;
    }

    /// <summary>
    /// The attempt's outcome, only while <paramref name="work"/>'s claim holds (false: another replica took it over),
    /// with the channel's next turn when this one ended — one transaction, so a channel never stalls between the two.
    /// </summary>
    private async Task<bool> RecordAsync(NotificationDelivery delivery, WorkContext work, DeliveryState state, int? statusCode, string answer)
    {
        await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        var held = work.Held(db);
        var now = time.GetUtcNow().UtcDateTime;
        var written = await db.Set<NotificationDelivery>().Where(d => d.Id == delivery.Id && held.Any()).ExecuteUpdateAsync(s => s
            .SetProperty(d => d.State, state).SetProperty(d => d.Attempts, work.Attempt).SetProperty(d => d.StatusCode, statusCode)
            .SetProperty(d => d.Answer, NotificationCenter.Shorten(answer)).SetProperty(d => d.UpdatedAtUtc, now), CancellationToken.None);
        if (written == 0)
        {
            return false;
        }
        outbox.Stage(db, new NotificationChannelsChanged(delivery.ChannelName));
        if (state is DeliveryState.Delivered or DeliveryState.Failed)
        {
            outbox.Stage(db, new ChannelWaiting(delivery.ChannelName));
        }
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Event} to channel {Channel}: not sent, its claim ran out before the message left (this replica stood still); the replica that holds it now sends it")]
    private partial void LogFencedOff(NotificationEvents @event, string channel);

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification {Event} delivered to channel {Channel} (attempt {Attempts})")]
    private partial void LogDelivered(NotificationEvents @event, string channel, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Event} to channel {Channel}: attempt {Attempts} failed ({Answer}); it is tried again")]
    private partial void LogRetrying(NotificationEvents @event, string channel, int attempts, string answer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Event} to channel {Channel} was not delivered after {Attempts} attempt(s): {Answer}")]
    private partial void LogFailed(NotificationEvents @event, string channel, int attempts, string answer);
}

/// <summary>The work of <see cref="ChannelWaiting"/>: the channel's oldest waiting delivery gets its turn, if none is on its way.</summary>
public sealed class ChannelTurns(NotificationCenter center) : IMessageHandler<ChannelWaiting>
{
    public async Task<WorkResult> HandleAsync(ChannelWaiting message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        await center.KickAsync(message.Channel, ct);
        return WorkResult.Done;
    }
}

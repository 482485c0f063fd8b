using System.Text.Json;
using Hangfire;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KeelPortal.Notifications;

/// <summary>
/// Posts one delivery. Retries are ours: a receiver error (5xx, 408, 429) or no answer is tried again after an
/// exponential, jittered wait, up to <see cref="NotificationsOptions.MaxAttempts"/>; any other 4xx is final. It runs on
/// its own queue, so a dead endpoint never holds up polling or applying. A channel's next message waits until this one
/// is delivered or given up, so each channel reads its events in order.
/// </summary>
public sealed partial class DeliveryJob(
    IDbContextFactory<PortalDbContext> contexts,
    ChannelDirectory directory,
    INotifier notifier,
    IBackgroundJobClient jobs,
    NotificationCenter center,
    Outbox outbox,
    IOptions<NotificationsOptions> options,
    TimeProvider time,
    ILogger<DeliveryJob> logger)
{
    public const string Queue = "notifications";

    [Queue(Queue)]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(long deliveryId, CancellationToken ct)
    {
        var o = options.Value;
        NotificationDelivery? delivery;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            delivery = await db.Set<NotificationDelivery>().AsNoTracking().SingleOrDefaultAsync(d => d.Id == deliveryId, ct);
        }
        if (delivery is null)
        {
            return;
        }
        if (delivery.State is DeliveryState.Delivered or DeliveryState.Failed || !await ClaimAsync(delivery, ct))
        {
            // Run twice (a resumed or duplicated job): the run that claimed the attempt sends it.
            await center.KickAsync(delivery.ChannelName, ct);
            return;
        }
        var channel = await directory.FindAsync(delivery.ChannelName, ct);
        var notification = JsonSerializer.Deserialize<Notification>(delivery.NotificationJson, NotificationCenter.Json)!;
        var attempt = channel switch
        {
            null => new DeliveryAttempt(false, false, null, "the channel was removed, or its target can no longer be decrypted"),
            { Enabled: false } => new DeliveryAttempt(false, false, null, "the channel was disabled"),
            _ => await notifier.SendAsync(channel, notification, ct),
        };
        var attempts = delivery.Attempts + 1; // claimed above
        Telemetry.PortalTelemetry.Deliveries.Add(1, new("kind", channel?.Type.ToString() ?? "removed"), new("outcome", attempt.Delivered ? "delivered" : "failed"));
        var retry = !attempt.Delivered && attempt.Retryable && attempts < o.MaxAttempts;
        var state = attempt.Delivered ? DeliveryState.Delivered : retry ? DeliveryState.Retrying : DeliveryState.Failed;
        await using (var db = await contexts.CreateDbContextAsync(CancellationToken.None))
        {
            await db.Set<NotificationDelivery>().Where(d => d.Id == deliveryId).ExecuteUpdateAsync(s => s
                .SetProperty(d => d.State, state).SetProperty(d => d.StatusCode, attempt.StatusCode)
                .SetProperty(d => d.Answer, NotificationCenter.Shorten(attempt.Answer)).SetProperty(d => d.UpdatedAtUtc, time.GetUtcNow().UtcDateTime),
                CancellationToken.None);
        }
        if (retry)
        {
            var delay = Backoff(o.RetryDelay, attempts, attempt.RetryAfter);
            LogRetrying(notification.Event, delivery.ChannelName, attempts, attempt.Answer, delay);
            jobs.Schedule<DeliveryJob>(j => j.RunAsync(deliveryId, CancellationToken.None), delay);
        }
        else
        {
            if (attempt.Delivered)
            {
                LogDelivered(notification.Event, delivery.ChannelName, attempts);
            }
            else
            {
                LogFailed(notification.Event, delivery.ChannelName, attempts, attempt.Answer);
            }
            await center.KickAsync(delivery.ChannelName, CancellationToken.None);
        }
        await outbox.PublishAsync(new NotificationChannelsChanged(delivery.ChannelName), CancellationToken.None);
    }

    /// <summary>Takes the next attempt: counted only if nobody else took it since the delivery was read.</summary>
    private async Task<bool> ClaimAsync(NotificationDelivery delivery, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<NotificationDelivery>()
            .Where(d => d.Id == delivery.Id && d.Attempts == delivery.Attempts && (d.State == DeliveryState.Pending || d.State == DeliveryState.Retrying))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Attempts, delivery.Attempts + 1).SetProperty(d => d.UpdatedAtUtc, time.GetUtcNow().UtcDateTime), ct) == 1;
    }

    /// <summary>The wait before attempt <paramref name="attempts"/> + 1: doubling from the first delay, ±20 %, at least what the receiver asked for.</summary>
    public static TimeSpan Backoff(TimeSpan first, int attempts, TimeSpan? retryAfter)
    {
        var doubled = first.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 10));
#pragma warning disable CA5394 // Jitter spreads retries; it protects nothing.
        var jittered = doubled * (0.8 + (Random.Shared.NextDouble() * 0.4));
#pragma warning restore CA5394
        var wait = TimeSpan.FromMilliseconds(Math.Min(jittered, TimeSpan.FromHours(1).TotalMilliseconds));
        return retryAfter is { } asked && asked > wait ? asked : wait;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification {Event} delivered to channel {Channel} (attempt {Attempts})")]
    private partial void LogDelivered(NotificationEvents @event, string channel, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Event} to channel {Channel}: attempt {Attempts} failed ({Answer}); retrying in {Delay}")]
    private partial void LogRetrying(NotificationEvents @event, string channel, int attempts, string answer, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Event} to channel {Channel} was not delivered after {Attempts} attempt(s): {Answer}")]
    private partial void LogFailed(NotificationEvents @event, string channel, int attempts, string answer);
}

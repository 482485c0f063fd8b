using System.Text.Json;
using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KeelPortal.Notifications;

/// <summary>
/// Routes a notification to its channels and records one delivery per channel, each sent as its own work: a workload's
/// <c>keel.sh/notify</c> names pick the channels (of any type), otherwise the default channels get it; each channel's
/// event filter and minimum level apply either way. Each channel gets its messages one at a time, in the order the
/// events happened; channels do not wait for each other.
/// </summary>
public sealed partial class NotificationCenter(
    ChannelDirectory directory,
    IDbContextFactory<PortalDbContext> contexts,
    INotifier notifier,
    AuditTrail audit,
    Outbox outbox,
    IOptions<NotificationsOptions> options,
    TimeProvider time,
    ILogger<NotificationCenter> logger)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The channels a notification goes to, and the names it asked for that no channel has.</summary>
    public static (IReadOnlyList<ChannelSettings> Channels, IReadOnlyList<string> Unknown) Route(
        IReadOnlyList<ChannelSettings> channels, Notification notification, IReadOnlyList<string> notify)
    {
        var named = ChannelNames.Parse(notify);
        var candidates = named.Count > 0 ? channels.Where(c => named.Contains(c.Name)) : channels.Where(c => c.IsDefault);
        var unknown = named.Where(n => channels.All(c => c.Name != n)).ToList();
        return (candidates.Where(c => c.Wants(notification.Event, notification.Level)).ToList(), unknown);
    }

    /// <summary>
    /// Records one delivery per routed channel (each channel sends it in its turn). <paramref name="eventKey"/> names what happened,
    /// so raising the same event twice sends it once. Returns the number of deliveries created.
    /// </summary>
    public async Task<int> RaiseAsync(string eventKey, Notification notification, IReadOnlyList<string> notify, CancellationToken ct = default)
    {
        var (channels, unknown) = Route(await directory.AllAsync(ct), notification, notify);
        if (unknown.Count > 0)
        {
            LogUnknownChannels(notification.Identifier ?? eventKey, string.Join(", ", unknown));
        }
        var created = 0;
        foreach (var channel in channels)
        {
            if (await RecordAsync(channel.Name, eventKey, notification, queued: false, ct) is not null)
            {
                created++;
            }
        }
        return created;
    }

    /// <summary>Sends a test message now, not through the queue, and answers with what the receiver said (also logged for the channel).</summary>
    public async Task<DeliveryAttempt> SendTestAsync(string channelName, string actor, CancellationToken ct = default)
    {
        var channel = await directory.FindAsync(channelName, ct);
        if (channel is null)
        {
            return new DeliveryAttempt(false, false, null, $"There is no channel named '{channelName}'.");
        }
        var now = time.GetUtcNow().UtcDateTime;
        var notification = new Notification(NotificationEvents.Test, NotificationLevel.Info,
            $"Test message from KeelPortal to channel {channel.Name}, sent by {actor}.", null, null, null, null, null, null, null, null, "notifications", now);
        // Recorded as queued, so the channel's queue waits for it instead of sending it a second time.
        var id = await RecordAsync(channel.Name, $"test:{Guid.NewGuid():N}", notification, queued: true, ct);
        var attempt = await notifier.SendAsync(channel, notification, ct);
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            await db.Set<NotificationDelivery>().Where(d => d.Id == id).ExecuteUpdateAsync(s => s
                .SetProperty(d => d.State, attempt.Delivered ? DeliveryState.Delivered : DeliveryState.Failed)
                .SetProperty(d => d.Attempts, 1).SetProperty(d => d.StatusCode, attempt.StatusCode)
                .SetProperty(d => d.Answer, Shorten(attempt.Answer)).SetProperty(d => d.UpdatedAtUtc, time.GetUtcNow().UtcDateTime), ct);
        }
        await KickAsync(channel.Name, ct);
        await audit.RecordAsync(actor, AuditActions.NotificationTest, $"channel/{channel.Name}", attempt.Answer, ct);
        await outbox.PublishAsync(new NotificationChannelsChanged(channel.Name), ct);
        return attempt;
    }

    /// <summary>The channel's last deliveries, newest first.</summary>
    public async Task<IReadOnlyList<NotificationDelivery>> LogAsync(string channelName, CancellationToken ct = default)
    {
        var name = ChannelNames.Normalise(channelName);
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<NotificationDelivery>().AsNoTracking().Where(d => d.ChannelName == name)
            .OrderByDescending(d => d.Id).Take(options.Value.DeliveryLogSize).ToListAsync(ct);
    }

    /// <summary>The last delivery of every channel, for the channel list.</summary>
    public async Task<IReadOnlyDictionary<string, NotificationDelivery>> LatestAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var lastIds = db.Set<NotificationDelivery>().GroupBy(d => d.ChannelName).Select(g => g.Max(d => d.Id));
        var rows = await db.Set<NotificationDelivery>().AsNoTracking().Where(d => lastIds.Contains(d.Id)).ToListAsync(ct);
        return rows.ToDictionary(d => d.ChannelName);
    }

    /// <summary>
    /// Gives the channel's next delivery its turn when nothing of that channel is on its way: the oldest event still
    /// waiting, marked queued and its <see cref="DeliveryDue"/> work committed together. Two callers racing queue it once
    /// (the queued mark is set conditionally).
    /// </summary>
    public async Task KickAsync(string channelName, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var set = db.Set<NotificationDelivery>();
        var next = await Waiting(set, channelName).Select(d => new { d.Id, d.QueuedAtUtc }).FirstOrDefaultAsync(ct);
        if (next is null || next.QueuedAtUtc is not null)
        {
            return;
        }
        var now = time.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (await set.Where(d => d.Id == next.Id && d.QueuedAtUtc == null).ExecuteUpdateAsync(s => s.SetProperty(d => d.QueuedAtUtc, now), ct) == 1)
        {
            outbox.Stage(db, new DeliveryDue(next.Id));
            await db.SaveChangesAsync(ct);
        }
        await transaction.CommitAsync(ct);
    }

    /// <summary>A channel's deliveries still to send, in the order their events happened.</summary>
    private static IQueryable<NotificationDelivery> Waiting(DbSet<NotificationDelivery> set, string channelName) =>
        set.Where(d => d.ChannelName == channelName && (d.State == DeliveryState.Pending || d.State == DeliveryState.Retrying))
            .OrderBy(d => d.OccurredAtUtc).ThenBy(d => d.Id);

    internal static string Shorten(string answer) => answer.Length <= 1000 ? answer : answer[..999] + "…";

    private async Task<long?> RecordAsync(string channelName, string eventKey, Notification notification, bool queued, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var set = db.Set<NotificationDelivery>();
        var delivery = new NotificationDelivery
        {
            ChannelName = channelName, EventKey = eventKey, Event = notification.Event, Level = notification.Level,
            NotificationJson = JsonSerializer.Serialize(notification, Json), State = DeliveryState.Pending,
            OccurredAtUtc = notification.CreatedAtUtc, QueuedAtUtc = queued ? now : null, CreatedAtUtc = now, UpdatedAtUtc = now,
        };
        set.Add(delivery);
        outbox.Stage(db, new NotificationChannelsChanged(channelName));
        // Committed with the delivery: the channel's queue moves on even if this replica stops right after.
        outbox.Stage(db, new ChannelWaiting(channelName));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            // The same event for the same channel was recorded already (a job run twice): it is sent once.
            return null;
        }
        // Keep the log short: finished deliveries beyond the newest N go.
        var keep = options.Value.DeliveryLogSize;
        var cutoff = await set.Where(d => d.ChannelName == channelName).OrderByDescending(d => d.Id).Skip(keep).Select(d => (long?)d.Id).FirstOrDefaultAsync(ct);
        if (cutoff is { } oldest)
        {
            await set.Where(d => d.ChannelName == channelName && d.Id <= oldest && (d.State == DeliveryState.Delivered || d.State == DeliveryState.Failed))
                .ExecuteDeleteAsync(ct);
        }
        return delivery.Id;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Workload}: keel.sh/notify names channel(s) {Channels} that are not configured; add them on the Notifications page")]
    private partial void LogUnknownChannels(string workload, string channels);
}

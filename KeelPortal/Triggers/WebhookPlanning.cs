using System.Threading.Channels;
using KeelPortal.Data;
using KeelPortal.Updates;
using Microsoft.Extensions.Options;

namespace KeelPortal.Triggers;

/// <summary>
/// What a webhook brought that was not received moments before: written to the outbox, in one transaction with the
/// webhook's audit entry, before the webhook is answered. Its planning joins the request's trace (<paramref name="TraceParent"/>).
/// </summary>
public sealed record WebhookReceived(string Provider, IReadOnlyList<ImageEvent> Events, string? TraceParent = null);

/// <summary>
/// Plans received webhooks on the replica that answered them: at once, in arrival order, up to
/// <see cref="TriggersOptions.WebhookPlanners"/> at a time, while that replica's claim on the outbox row lasts
/// (<see cref="TriggersOptions.WebhookFallbackDelay"/>). A webhook not planned by then — the process stopped, the run
/// failed and gave the claim back, a burst queued it too long — is planned by whichever replica's relay claims the row
/// (<see cref="WebhookWork"/>), so nothing received is lost and a second planning is harmless.
/// </summary>
public sealed partial class WebhookPlanning(
    IServiceScopeFactory scopes, Outbox outbox, WebhookTraffic traffic, IOptions<TriggersOptions> options, TimeProvider time,
    ILogger<WebhookPlanning> logger)
    : BackgroundService
{
    private readonly Channel<Received> queue = Channel.CreateUnbounded<Received>(new UnboundedChannelOptions { SingleWriter = false });
    private long nextBurstNote;

    /// <summary>
    /// Queues the committed webhook (its outbox <paramref name="row"/>, claimed here) for planning; false when the
    /// portal is stopping, and the claim's end hands it to a relay.
    /// </summary>
    public bool TryPlan(PortalEvent row, WebhookReceived webhook)
    {
        ArgumentNullException.ThrowIfNull(row);
        var claimedUntil = new DateTimeOffset(DateTime.SpecifyKind(row.ClaimedUntilUtc ?? row.OccurredAtUtc, DateTimeKind.Utc));
        return queue.Writer.TryWrite(new Received(row.Id, webhook, claimedUntil, time.GetTimestamp()));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.WebhookPlanners).Select(_ => Task.Run(() => PlanLoopAsync(stoppingToken), CancellationToken.None)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        // Queued but not started: given back at once, so another replica (or this one after its restart) plans them
        // without waiting for the claims to run out.
        while (queue.Reader.TryRead(out var left))
        {
            await GiveBackAsync(left, cancellationToken);
        }
    }

    private async Task PlanLoopAsync(CancellationToken ct)
    {
        try
        {
            while (await queue.Reader.WaitToReadAsync(ct))
            {
                if (queue.Reader.TryRead(out var next))
                {
                    await PlanAsync(next, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task PlanAsync(Received received, CancellationToken ct)
    {
        var (eventId, webhook, claimedUntil, at) = received;
        try
        {
            // In a burst, answering comes first; what it brought is planned once it has passed — well within the claim.
            if (await traffic.WaitForLullAsync(at, (claimedUntil - time.GetUtcNow()) / 2, ct))
            {
                NoteBurst();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await GiveBackAsync(received, CancellationToken.None);
            return;
        }
        if (time.GetUtcNow() >= claimedUntil)
        {
            // Queued past the claim: a relay takes (or took) it over; planning it here too would only repeat the work.
            LogClaimRanOut(webhook.Provider, eventId);
            return;
        }
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["EventId"] = eventId, ["Webhook"] = webhook.Provider });
        try
        {
            await using (var services = scopes.CreateAsyncScope())
            {
                await services.ServiceProvider.GetRequiredService<WebhookWork>().PlanAsync(webhook, ct);
            }
            Telemetry.PortalTelemetry.WebhookToApproval.Record(time.GetElapsedTime(at).TotalSeconds,
                new KeyValuePair<string, object?>("provider", webhook.Provider));
            await outbox.HandledAsync(eventId, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await GiveBackAsync(received, CancellationToken.None);
        }
#pragma warning disable CA1031 // Any failure gives the webhook back to the relays; none may end the planner.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogFailed(e, webhook.Provider, eventId);
            await GiveBackAsync(received, CancellationToken.None);
        }
    }

    /// <summary>One log line for a burst (at most one per <see cref="TriggersOptions.WebhookBurstDelay"/>), not one per webhook.</summary>
    private void NoteBurst()
    {
        var now = time.GetUtcNow().UtcTicks;
        var next = Interlocked.Read(ref nextBurstNote);
        if (now >= next && Interlocked.CompareExchange(ref nextBurstNote, now + options.Value.WebhookBurstDelay.Ticks, next) == next)
        {
            LogBurst(options.Value.WebhookBurstRate, options.Value.WebhookBurstDelay);
        }
    }

    private async Task GiveBackAsync(Received received, CancellationToken ct)
    {
        try
        {
            await outbox.ReleaseAsync(received.EventId, ct);
        }
#pragma warning disable CA1031 // The claim then simply runs out.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogGiveBackFailed(e, received.EventId);
        }
    }

    private sealed record Received(long EventId, WebhookReceived Webhook, DateTimeOffset ClaimedUntil, long At);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhooks arrived faster than {Rate} a second: they were answered first and planned once the burst had passed (each waited at most {Delay})")]
    private partial void LogBurst(int rate, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Planning a {Provider} webhook (event {EventId}) failed; a relay plans it again")]
    private partial void LogFailed(Exception exception, string provider, long eventId);

    [LoggerMessage(Level = LogLevel.Information, Message = "A {Provider} webhook (event {EventId}) waited here longer than its claim; a relay plans it")]
    private partial void LogClaimRanOut(string provider, long eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Giving back the claim on event {EventId} failed; it runs out on its own")]
    private partial void LogGiveBackFailed(Exception exception, long eventId);
}

/// <summary>Plans the events a webhook carried (a webhook is a hint that the planner confirms in the registry).</summary>
public sealed class WebhookWork(UpdatePlanner planner) : IEventWork
{
    public Task HandleAsync(object message, DateTime occurredAtUtc, CancellationToken ct) =>
        message is WebhookReceived webhook ? PlanAsync(webhook, ct) : Task.CompletedTask;

    public async Task PlanAsync(WebhookReceived webhook, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        foreach (var e in webhook.Events)
        {
            await planner.PlanEventAsync(e.Repository, e.Tag, e.Digest, $"{webhook.Provider} webhook", webhook.TraceParent, ct);
        }
    }
}

using KeelPortal.Data;
using KeelPortal.Updates;
using Microsoft.Extensions.Options;

namespace KeelPortal.Triggers;

/// <summary>
/// What a webhook brought that was not received moments before: written to the outbox, in one transaction with the
/// webhook's audit entry, before the webhook is answered. Its planning joins the request's trace (<paramref name="TraceParent"/>).
/// </summary>
public sealed record WebhookReceived(string Provider, IReadOnlyList<ImageEvent> Events, string? TraceParent = null);

/// <summary>How many webhooks this replica plans at the same time (<see cref="TriggersOptions.WebhookPlanners"/>), and when a burst was last told of.</summary>
public sealed class WebhookPlanners(IOptions<TriggersOptions> options, TimeProvider time) : IDisposable
{
    private long nextBurstNote;

    public SemaphoreSlim Slots { get; } = new(options.Value.WebhookPlanners, options.Value.WebhookPlanners);

    /// <summary>True at most once per <see cref="TriggersOptions.WebhookBurstDelay"/>: one log line for a burst, not one per webhook.</summary>
    public bool NoteBurst()
    {
        var now = time.GetUtcNow().UtcTicks;
        var next = Interlocked.Read(ref nextBurstNote);
        return now >= next && Interlocked.CompareExchange(ref nextBurstNote, now + options.Value.WebhookBurstDelay.Ticks, next) == next;
    }

    public void Dispose() => Slots.Dispose();
}

/// <summary>
/// Plans the events a received webhook carried (a webhook is a hint that the planner confirms in the registry), as the
/// work of its <see cref="WebhookReceived"/> message: started at once by the replica that answered it, by any replica if
/// that one stops first. In a burst, answering comes first: planning waits for the lull (or
/// <see cref="TriggersOptions.WebhookBurstDelay"/>), its claim renewed meanwhile. A second planning is harmless.
/// </summary>
public sealed partial class WebhookWork(
    UpdatePlanner planner, WebhookTraffic traffic, WebhookPlanners planners, IOptions<TriggersOptions> options, TimeProvider time,
    Telemetry.PortalMetrics metrics, ILogger<WebhookWork> logger)
    : IMessageHandler<WebhookReceived>
{
    public async Task<WorkResult> HandleAsync(WebhookReceived message, WorkContext work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(work);
        if (await traffic.WaitForLullAsync(work.OccurredAtUtc, ct) && planners.NoteBurst())
        {
            LogBurst(options.Value.WebhookBurstRate, options.Value.WebhookBurstDelay);
        }
        await planners.Slots.WaitAsync(ct);
        try
        {
            await PlanAsync(message, ct);
        }
        finally
        {
            planners.Slots.Release();
        }
        metrics.WebhookToApproval.Record((time.GetUtcNow().UtcDateTime - work.OccurredAtUtc).TotalSeconds,
            new KeyValuePair<string, object?>("provider", message.Provider));
        return WorkResult.Done;
    }

    private async Task PlanAsync(WebhookReceived webhook, CancellationToken ct)
    {
        foreach (var e in webhook.Events)
        {
            await planner.PlanEventAsync(e.Repository, e.Tag, e.Digest, $"{webhook.Provider} webhook", webhook.TraceParent, ct);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhooks arrived faster than {Rate} a second: they were answered first and planned once the burst had passed (each waited at most {Delay})")]
    private partial void LogBurst(int rate, TimeSpan delay);
}

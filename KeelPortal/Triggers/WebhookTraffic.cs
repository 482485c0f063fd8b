using Microsoft.Extensions.Options;

namespace KeelPortal.Triggers;

/// <summary>
/// How fast webhooks are arriving here. While they arrive faster than <see cref="TriggersOptions.WebhookBurstRate"/>
/// per second, planning waits (<see cref="WebhookWork"/>): answering a burst — each webhook already committed before
/// its answer — comes first, and its registry look-ups, approvals and notifications follow once it has passed, or
/// once a webhook has waited <see cref="TriggersOptions.WebhookBurstDelay"/>, whichever comes first.
/// </summary>
public sealed class WebhookTraffic(IOptions<TriggersOptions> options, TimeProvider time)
{
    // The burst test looks at the last Span arrivals: a burst is on while they all fell within Span / rate seconds.
    private const int Span = 10;
    private readonly long[] arrivals = new long[Span];
    private long count;
    private readonly Lock gate = new();
    private Task lull = Task.CompletedTask;

    /// <summary>Notes one webhook's arrival.</summary>
    public void Arrived()
    {
        var slot = Interlocked.Increment(ref count) % Span;
        Volatile.Write(ref arrivals[slot], time.GetTimestamp());
    }

    /// <summary>True while the last arrivals came faster than the burst rate.</summary>
    public bool InBurst
    {
        get
        {
            var rate = options.Value.WebhookBurstRate;
            var seen = Interlocked.Read(ref count);
            if (rate <= 0 || seen < Span)
            {
                return false;
            }
            // The oldest of the last Span arrivals sits in the slot the next arrival overwrites.
            var oldest = Volatile.Read(ref arrivals[(seen + 1) % Span]);
            return time.GetElapsedTime(oldest) < TimeSpan.FromSeconds((double)Span / rate);
        }
    }

    /// <summary>
    /// Returns once no burst is on, or once the webhook committed at <paramref name="arrivedAtUtc"/> has waited
    /// <see cref="TriggersOptions.WebhookBurstDelay"/>. All the webhooks waiting wait on one watch of the traffic, so a
    /// burst of a thousand keeps one timer, not a thousand.
    /// </summary>
    /// <returns>True when it waited (a burst was on).</returns>
    public async Task<bool> WaitForLullAsync(DateTime arrivedAtUtc, CancellationToken ct)
    {
        var limit = options.Value.WebhookBurstDelay;
        var waited = false;
        while (InBurst && limit - (time.GetUtcNow().UtcDateTime - arrivedAtUtc) is var left && left > TimeSpan.Zero)
        {
            waited = true;
            try
            {
                await Lull().WaitAsync(left, time, ct);
            }
            catch (TimeoutException)
            {
                break;
            }
        }
        return waited;
    }

    /// <summary>The one watch: completes when the burst has passed (a new one starts with the next burst).</summary>
    private Task Lull()
    {
        lock (gate)
        {
            if (lull.IsCompleted)
            {
                lull = WatchAsync();
            }
            return lull;
        }
    }

    private async Task WatchAsync()
    {
        while (InBurst)
        {
            await Task.Delay(Pause, time);
        }
    }

    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(10);
}

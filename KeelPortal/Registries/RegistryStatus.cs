namespace KeelPortal.Registries;

/// <summary>What the portal last saw of one registry: requests sent, its rate-limit headers, the last failure.</summary>
public sealed class RegistryStatus(string host)
{
    private long requests;
    private int waitingForBudget;

    public string Host { get; } = host;

    /// <summary>HTTP requests sent to this host (every attempt counts), for the console and for tests.</summary>
    public long Requests => Interlocked.Read(ref requests);

    /// <summary>Docker Hub's <c>RateLimit-Remaining</c> / <c>RateLimit-Limit</c>, as last sent.</summary>
    public int? RateLimitRemaining { get; private set; }
    public int? RateLimitLimit { get; private set; }
    public DateTimeOffset? RateLimitSeenAt { get; private set; }

    public DateTimeOffset? RateLimitedUntil { get; internal set; }

    /// <summary>Requests held back because this registry's request budget is spent.</summary>
    public int WaitingForBudget => Volatile.Read(ref waitingForBudget);

    private readonly Lock health = new();

    /// <summary>When the registry last answered (any answer below 500 that is not a rate limit).</summary>
    public DateTimeOffset? LastSuccessAt { get; private set; }

    /// <summary>The last failure: unreachable, timed out, a 5xx answer or a rate limit; and when.</summary>
    public string? LastError { get; private set; }

    public DateTimeOffset? LastErrorAt { get; private set; }

    /// <summary>Failures since the last success; 0 when the last request worked.</summary>
    public int ConsecutiveFailures { get; private set; }

    /// <summary>Failing now: the last request failed (there may have been successes before).</summary>
    public bool IsFailing => ConsecutiveFailures > 0;

    internal void RecordSuccess(DateTimeOffset now)
    {
        lock (health)
        {
            LastSuccessAt = now;
            ConsecutiveFailures = 0;
        }
    }

    internal void RecordFailure(string reason, DateTimeOffset now)
    {
        lock (health)
        {
            LastError = reason;
            LastErrorAt = now;
            ConsecutiveFailures++;
        }
    }

    internal void CountRequest() => Interlocked.Increment(ref requests);

    internal void EnterBudgetWait() => Interlocked.Increment(ref waitingForBudget);

    internal void LeaveBudgetWait() => Interlocked.Decrement(ref waitingForBudget);

    internal void Observe(HttpResponseMessage response, DateTimeOffset now)
    {
        if (ReadLimit(response, "RateLimit-Remaining") is { } remaining)
        {
            RateLimitRemaining = remaining;
            RateLimitLimit = ReadLimit(response, "RateLimit-Limit");
            RateLimitSeenAt = now;
        }
    }

    /// <summary>Docker Hub sends <c>100;w=21600</c>: the count comes before the window.</summary>
    private static int? ReadLimit(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) &&
        int.TryParse(values.First().Split(';')[0].Trim(), out var value) ? value : null;
}

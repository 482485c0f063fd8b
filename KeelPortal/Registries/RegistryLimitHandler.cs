using System.Threading.RateLimiting;

namespace KeelPortal.Registries;

/// <summary>
/// The innermost handler for one registry: at most N requests at once and a per-minute request budget, both
/// only for this registry, so one slow or rate-limited registry never holds up another. Every attempt is counted
/// and the registry's rate-limit headers are kept.
/// </summary>
internal sealed class RegistryLimitHandler(RegistrySettings settings, RegistryStatus status, TimeProvider time) : DelegatingHandler
{
    private readonly SemaphoreSlim concurrency = new(settings.MaxConcurrency);
    private readonly TokenBucketRateLimiter budget = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = Math.Max(1, settings.RequestsPerMinute / 6),
        TokensPerPeriod = Math.Max(1, settings.RequestsPerMinute / 6),
        ReplenishmentPeriod = TimeSpan.FromSeconds(10),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    });

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var lease = await budget.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        await concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            status.CountRequest();
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            status.Observe(response, time.GetUtcNow());
            return response;
        }
        finally
        {
            concurrency.Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            concurrency.Dispose();
            budget.Dispose();
        }
        base.Dispose(disposing);
    }
}

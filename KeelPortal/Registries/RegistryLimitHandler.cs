using System.Threading.RateLimiting;

namespace KeelPortal.Registries;

/// <summary>
/// The innermost handler for one registry: at most N requests at once and a per-minute request budget, both
/// only for this registry, so one slow or rate-limited registry never holds up another. Every attempt is counted
/// and the registry's rate-limit headers are kept.
/// </summary>
internal sealed class RegistryLimitHandler(RegistrySettings settings, RegistryStatus status, TimeProvider time, Telemetry.PortalMetrics metrics) : DelegatingHandler
{
    private readonly SemaphoreSlim concurrency = new(settings.MaxConcurrency);
    private readonly TokenBucketRateLimiter budget = Budget(settings.RequestsPerMinute);

    /// <summary>
    /// A bucket holding ten seconds' worth of requests (bursts are fine), refilled smoothly: a coarse refill would
    /// stall every request past the burst until the next period.
    /// </summary>
    private static TokenBucketRateLimiter Budget(int requestsPerMinute)
    {
        var period = TimeSpan.FromMilliseconds(Math.Max(100, 60_000.0 / requestsPerMinute));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, requestsPerMinute / 6),
            TokensPerPeriod = Math.Max(1, (int)Math.Round(requestsPerMinute * period.TotalMinutes)),
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var lease = await AcquireBudgetAsync(cancellationToken).ConfigureAwait(false);
        await concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            status.CountRequest();
            var registry = request.RequestUri?.Authority ?? "";
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                metrics.RegistryRequests.Add(1, new("registry", registry), new("status", "error"));
                throw;
            }
            status.Observe(response, time.GetUtcNow());
            metrics.RegistryRequests.Add(1, new("registry", registry), new("status", (int)response.StatusCode));
            metrics.ObserveRateLimit(registry, response);
            return response;
        }
        finally
        {
            concurrency.Release();
        }
    }

    private async ValueTask<RateLimitLease> AcquireBudgetAsync(CancellationToken cancellationToken)
    {
        var lease = budget.AttemptAcquire(1);
        if (lease.IsAcquired)
        {
            return lease;
        }
        lease.Dispose();
        status.EnterBudgetWait();
        try
        {
            return await budget.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            status.LeaveBudgetWait();
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

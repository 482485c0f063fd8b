using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace KeelPortal.Access;

/// <summary>
/// Failed HTTP Basic sign-ins on the API, counted per client address in a fixed window. Past the limit the address is
/// refused (429) until the window ends, whatever the credentials: guessing is slowed without letting a stranger lock
/// an account, which counting failures per account would.
/// </summary>
public sealed class BasicAttemptLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> failures;

    public BasicAttemptLimiter(IOptions<AccessOptions> options)
    {
        var o = options.Value;
        Window = o.BasicFailureWindow;
        failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = o.BasicFailuresPerWindow, Window = o.BasicFailureWindow, QueueLimit = 0, AutoReplenishment = true }));
    }

    public TimeSpan Window { get; }

    /// <summary>Whether <paramref name="address"/> used up its failures for this window.</summary>
    public bool IsBlocked(IPAddress? address) => failures.GetStatistics(Key(address))?.CurrentAvailablePermits <= 0;

    /// <summary>Counts one failure; false when this one went past the limit.</summary>
    public bool RecordFailure(IPAddress? address)
    {
        using var lease = failures.AttemptAcquire(Key(address));
        return lease.IsAcquired;
    }

    private static string Key(IPAddress? address) => address?.ToString() ?? "unknown";

    public void Dispose() => failures.Dispose();
}

using Hangfire;
using KeelPortal.Data;
using KeelPortal.Updates;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Triggers;

/// <summary>
/// The recurring poll of one repository, shared by every workload tracking it. For <c>@every</c> schedules the cron
/// ticks at a divisor of the interval and a tick polls only in a slot of the interval that has not been polled yet.
/// </summary>
public sealed class PollRepositoryJob(UpdatePlanner planner, IDbContextFactory<PortalDbContext> contexts, TimeProvider time, Telemetry.PortalMetrics metrics)
{
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 300)]
    public async Task RunAsync(string repository, int intervalSeconds, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var state = await db.Set<PollState>().SingleOrDefaultAsync(p => p.Repository == repository, ct);
        if (state is not null && !IsDue(state.LastPolledAtUtc, now, intervalSeconds))
        {
            return;
        }
        if (state is null)
        {
            state = new PollState { Repository = repository };
            db.Add(state);
        }
        state.LastPolledAtUtc = now;
        await db.SaveChangesAsync(ct);
        using var activity = Telemetry.PortalTelemetry.Source.StartActivity("keelportal.poll");
        activity?.SetTag("keelportal.repository", repository);
        var started = time.GetTimestamp();
        var outcome = "failed";
        try
        {
            var proposed = await planner.PollAsync(repository, ct);
            state.LastOutcome = $"{proposed} update(s) proposed";
            outcome = proposed > 0 ? "proposed" : "nothing";
            await db.SaveChangesAsync(ct);
        }
        finally
        {
            metrics.PollCycles.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
            metrics.PollDuration.Record(time.GetElapsedTime(started).TotalSeconds);
            var at = repository.IndexOf('/', StringComparison.Ordinal);
            metrics.RegistriesScanned.Add(1, new("registry", at < 0 ? "" : repository[..at]), new("image", repository));
        }
    }

    /// <summary>
    /// Whether a tick at <paramref name="nowUtc"/> polls: time is cut into slots of the interval (from the Unix epoch) and
    /// each slot is polled once. Comparing slots, not the time since the last run, keeps every cycle when one run
    /// started late and the next on time (a run 1.2 s late followed by one 0.1 s late are 8.9 s apart, still two slots).
    /// </summary>
    internal static bool IsDue(DateTime lastPolledUtc, DateTime nowUtc, int intervalSeconds) =>
        intervalSeconds <= 0 || Slot(nowUtc, intervalSeconds) > Slot(lastPolledUtc, intervalSeconds);

    private static long Slot(DateTime utc, int intervalSeconds) => (utc - DateTime.UnixEpoch).Ticks / TimeSpan.FromSeconds(intervalSeconds).Ticks;
}

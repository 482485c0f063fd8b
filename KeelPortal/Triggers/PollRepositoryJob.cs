using Hangfire;
using KeelPortal.Data;
using KeelPortal.Updates;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Triggers;

/// <summary>
/// The recurring poll of one repository, shared by every workload tracking it. For <c>@every</c> schedules the cron
/// ticks at a divisor of the interval and ticks that come early are skipped.
/// </summary>
public sealed class PollRepositoryJob(UpdatePlanner planner, IDbContextFactory<PortalDbContext> contexts, TimeProvider time)
{
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 300)]
    public async Task RunAsync(string repository, int intervalSeconds, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var state = await db.Set<PollState>().SingleOrDefaultAsync(p => p.Repository == repository, ct);
        // Half a second of slack: a tick that fires a little early still counts.
        if (state is not null && intervalSeconds > 0 && now - state.LastPolledAtUtc < TimeSpan.FromSeconds(intervalSeconds - 0.5))
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
        var proposed = await planner.PollAsync(repository, ct);
        state.LastOutcome = $"{proposed} update(s) proposed";
        await db.SaveChangesAsync(ct);
    }
}

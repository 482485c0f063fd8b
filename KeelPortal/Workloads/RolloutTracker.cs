using System.Threading.Channels;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>
/// Follows a rollout after an apply, from the status the watchers deliver (never from the PATCH response, which
/// carries the old status), until it succeeds, fails or runs out of time. The outcome is stored and published.
/// </summary>
public sealed partial class RolloutTracker(
    WorkloadCatalog catalog,
    IDbContextFactory<PortalDbContext> contexts,
    EventHub events,
    IOptions<WorkloadsOptions> options,
    TimeProvider time,
    ILogger<RolloutTracker> logger)
{
    public async Task<RolloutRecord> TrackAsync(string workloadId, long generation, string fromVersion, string toVersion, CancellationToken ct = default)
    {
        var record = new RolloutRecord
        {
            WorkloadId = workloadId, FromVersion = fromVersion, ToVersion = toVersion, Generation = generation,
            StartedAtUtc = time.GetUtcNow().UtcDateTime, State = RolloutState.InProgress, Reason = "started",
        };
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            db.Add(record);
            await db.SaveChangesAsync(ct);
        }
        var progress = await FollowAsync(workloadId, generation, ct);
        record.State = progress.State;
        record.Reason = progress.Reason;
        record.FinishedAtUtc = time.GetUtcNow().UtcDateTime;
        await using (var db = await contexts.CreateDbContextAsync(CancellationToken.None))
        {
            db.Update(record);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        LogFinished(workloadId, fromVersion, toVersion, progress.State, progress.Reason);
        events.Publish(new RolloutFinished(record.Id, workloadId, fromVersion, toVersion, progress.State, progress.Reason));
        return record;
    }

    public async Task<IReadOnlyList<RolloutRecord>> HistoryAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<RolloutRecord>().AsNoTracking().Where(r => r.WorkloadId == workloadId)
            .OrderByDescending(r => r.StartedAtUtc).ThenByDescending(r => r.Id).ToListAsync(ct);
    }

    private async Task<RolloutProgress> FollowAsync(string workloadId, long generation, CancellationToken ct)
    {
        var timeout = options.Value.RolloutTimeout;
        var signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        void Observe(string id)
        {
            if (id == workloadId)
            {
                signal.Writer.TryWrite(true);
            }
        }
        catalog.Observed += Observe;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var last = new RolloutProgress(RolloutState.InProgress, "waiting for the controller to observe the update");
        try
        {
            while (true)
            {
                if (catalog.Find(workloadId) is not { } current)
                {
                    return new(RolloutState.Failed, $"{workloadId} was deleted during the rollout");
                }
                last = RolloutProgress.Of(current, generation);
                if (last.State != RolloutState.InProgress)
                {
                    return last;
                }
                await signal.Reader.ReadAsync(linked.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new(RolloutState.TimedOut, $"the rollout did not finish within {timeout}: {last.Reason}");
        }
        finally
        {
            catalog.Observed -= Observe;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout of {Workload} {From} -> {To}: {State} ({Reason})")]
    private partial void LogFinished(string workload, string from, string to, RolloutState state, string reason);
}

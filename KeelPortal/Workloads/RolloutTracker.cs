using System.Collections.Concurrent;
using System.Threading.Channels;
using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>
/// Follows rollouts after an apply, from the status the watchers deliver (never from the PATCH response, which
/// carries the old status), until each succeeds, fails or runs out of time. Nothing waits: a rollout is a record in
/// the database, re-checked whenever its workload is observed and on a timer for its deadline, so it holds no job
/// worker and an in-progress rollout is picked up again after a restart. Only the replica that watches the cluster
/// judges rollouts (it alone has the status); a rollout another replica started is found by it within a second. One
/// record per approval and generation; the move to an outcome is a conditional update, so the outcome is recorded,
/// audited and published once.
/// </summary>
public sealed partial class RolloutTracker(
    WorkloadCatalog catalog,
    WorkloadWatcher watcher,
    IDbContextFactory<PortalDbContext> contexts,
    EventHub events,
    Outbox outbox,
    AuditTrail audit,
    IOptions<WorkloadsOptions> options,
    TimeProvider time,
    Telemetry.PortalMetrics metrics,
    ILogger<RolloutTracker> logger) : BackgroundService
{
    private static readonly TimeSpan DeadlineCheck = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, byte> following = new(StringComparer.Ordinal);
    private readonly Channel<string> observed = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>
    /// Starts following the rollout <paramref name="generation"/> of an apply started; a second start for the same
    /// approval and generation returns the record the first one made.
    /// </summary>
    public async Task<RolloutRecord> StartAsync(string workloadId, long generation, string fromVersion, string toVersion, long? approvalId = null, CancellationToken ct = default)
    {
        var record = new RolloutRecord
        {
            ApprovalId = approvalId, WorkloadId = workloadId, FromVersion = fromVersion, ToVersion = toVersion, Generation = generation,
            StartedAtUtc = time.GetUtcNow().UtcDateTime, State = RolloutState.InProgress, Reason = "started",
            TraceParent = System.Diagnostics.Activity.Current?.Id,
        };
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            db.Add(record);
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation())
            {
                LogAlreadyFollowed(workloadId, generation);
                return await db.Set<RolloutRecord>().AsNoTracking().SingleAsync(r => r.ApprovalId == approvalId && r.WorkloadId == workloadId && r.Generation == generation, ct);
            }
        }
        following[workloadId] = 0;
        await CheckAsync(record.Id, ct);
        return (await GetAsync(record.Id, ct))!;
    }

    /// <summary>Starts following and waits for the outcome (for callers that want it at once, such as tests).</summary>
    public async Task<RolloutRecord> TrackAsync(string workloadId, long generation, string fromVersion, string toVersion, CancellationToken ct = default)
    {
        var finished = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = events.Subscribe<RolloutFinished>(f =>
        {
            if (f.WorkloadId == workloadId)
            {
                finished.TrySetResult(f.RolloutId);
            }
        });
        var record = await StartAsync(workloadId, generation, fromVersion, toVersion, null, ct);
        while (record.State == RolloutState.InProgress)
        {
            await finished.Task.WaitAsync(ct);
            record = (await GetAsync(record.Id, ct))!;
        }
        return record;
    }

    public async Task<RolloutRecord?> GetAsync(long id, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<RolloutRecord>().AsNoTracking().SingleOrDefaultAsync(r => r.Id == id, ct);
    }

    public async Task<IReadOnlyList<RolloutRecord>> HistoryAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<RolloutRecord>().AsNoTracking().Where(r => r.WorkloadId == workloadId)
            .OrderByDescending(r => r.StartedAtUtc).ThenByDescending(r => r.Id).ToListAsync(ct);
    }

    /// <summary>The newest rollout of each of these approvals, for showing "applied, rolled out" apart from "applied, rollout failed".</summary>
    public async Task<IReadOnlyDictionary<long, RolloutRecord>> ForApprovalsAsync(IReadOnlyCollection<long> approvalIds, CancellationToken ct = default)
    {
        if (approvalIds.Count == 0)
        {
            return new Dictionary<long, RolloutRecord>();
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var records = await db.Set<RolloutRecord>().AsNoTracking()
            .Where(r => r.ApprovalId != null && approvalIds.Contains(r.ApprovalId.Value)).ToListAsync(ct);
        // Per workload its newest rollout; across the workloads of one apply (a Helm release's), the one that says most:
        // a failure, else one still in progress, else the last to finish.
        return records.GroupBy(r => r.ApprovalId!.Value).ToDictionary(g => g.Key, g => g
            .GroupBy(r => r.WorkloadId, StringComparer.Ordinal).Select(w => w.MaxBy(r => r.Generation)!)
            .OrderBy(r => r.State switch { RolloutState.Failed or RolloutState.TimedOut => 0, RolloutState.InProgress => 1, _ => 2 })
            .ThenByDescending(r => r.FinishedAtUtc).First());
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Until the first snapshot the catalog does not know the workloads: a rollout would look deleted.
            await watcher.FirstSnapshot.WaitAsync(stoppingToken);
        }
        catch (InvalidOperationException)
        {
            return; // No cluster: nothing can progress.
        }
        catalog.Observed += OnObserved;
        try
        {
            foreach (var id in await InProgressAsync(null, stoppingToken))
            {
                following[id.WorkloadId] = 0;
                await CheckAsync(id.Id, stoppingToken);
            }
            await Task.WhenAll(FollowObservedAsync(stoppingToken), FollowDeadlinesAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping; in-progress rollouts are picked up at the next start.
        }
        finally
        {
            catalog.Observed -= OnObserved;
        }
    }

    private void OnObserved(string workloadId)
    {
        if (following.ContainsKey(workloadId))
        {
            observed.Writer.TryWrite(workloadId);
        }
    }

    private async Task FollowObservedAsync(CancellationToken ct)
    {
        while (await observed.Reader.WaitToReadAsync(ct))
        {
            var ids = new HashSet<string>(StringComparer.Ordinal);
            while (observed.Reader.TryRead(out var id))
            {
                ids.Add(id);
            }
            foreach (var workloadId in ids)
            {
                foreach (var rollout in await InProgressAsync(workloadId, ct))
                {
                    await CheckAsync(rollout.Id, ct);
                }
            }
        }
    }

    private async Task FollowDeadlinesAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(DeadlineCheck, time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            if (!watcher.Current)
            {
                continue;
            }
            // Each in-progress rollout is checked against its own deadline (the global timeout, or the workload's
            // rollbackAfter); one new to this replica (started by another, or before it led) is followed from now on.
            foreach (var rollout in await InProgressAsync(null, ct))
            {
                following.TryAdd(rollout.WorkloadId, 0);
                await CheckAsync(rollout.Id, ct);
            }
        }
    }

    private async Task<List<(long Id, string WorkloadId, DateTime StartedAtUtc)>> InProgressAsync(string? workloadId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<RolloutRecord>().AsNoTracking()
            .Where(r => r.State == RolloutState.InProgress && (workloadId == null || r.WorkloadId == workloadId))
            .Select(r => new { r.Id, r.WorkloadId, r.StartedAtUtc }).ToListAsync(ct);
        return rows.Select(r => (r.Id, r.WorkloadId, r.StartedAtUtc)).ToList();
    }

    /// <summary>Reads where one rollout stands now and records its outcome when it has one.</summary>
    private async Task CheckAsync(long rolloutId, CancellationToken ct)
    {
        if (!watcher.Current)
        {
            return; // The watching replica judges it.
        }
        var record = await GetAsync(rolloutId, ct);
        if (record is null || record.State != RolloutState.InProgress)
        {
            return;
        }
        var current = catalog.Find(record.WorkloadId);
        var progress = current is not null
            ? RolloutProgress.Of(current, record.Generation)
            : new RolloutProgress(RolloutState.Failed, $"{record.WorkloadId} was deleted during the rollout");
        // With automatic rollback the workload's keel.sh/rollbackAfter is how long its new pods may take to be ready.
        var rollback = current is null ? default : KeelSettings.RollbackOf(current.Labels, current.Annotations);
        var timeout = rollback.Auto ? rollback.After : options.Value.RolloutTimeout;
        if (progress.State == RolloutState.InProgress && time.GetUtcNow().UtcDateTime - record.StartedAtUtc >= timeout)
        {
            progress = new RolloutProgress(RolloutState.TimedOut, $"the rollout did not finish within {timeout}: {progress.Reason}");
        }
        if (progress.State != RolloutState.InProgress)
        {
            await FinishAsync(record, progress, ct);
        }
    }

    private async Task FinishAsync(RolloutRecord record, RolloutProgress progress, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var moved = await db.Set<RolloutRecord>().Where(r => r.Id == record.Id && r.State == RolloutState.InProgress)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.State, progress.State).SetProperty(r => r.Reason, progress.Reason)
                    .SetProperty(r => r.FinishedAtUtc, now), ct);
            if (moved == 0)
            {
                return; // Another instance, or an earlier check, recorded it.
            }
            outbox.Stage(db, new RolloutFinished(record.Id, record.WorkloadId, record.FromVersion, record.ToVersion, progress.State, progress.Reason));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
            if (!await db.Set<RolloutRecord>().AnyAsync(r => r.WorkloadId == record.WorkloadId && r.State == RolloutState.InProgress, ct))
            {
                following.TryRemove(record.WorkloadId, out _);
            }
        }
        LogFinished(record.WorkloadId, record.FromVersion, record.ToVersion, progress.State, progress.Reason);
        await audit.RecordAsync("system", progress.State == RolloutState.Succeeded ? AuditActions.RolloutSucceeded : AuditActions.RolloutFailed,
            $"{record.WorkloadId}:{record.ToVersion}", $"{progress.State}: {progress.Reason}", ct);
        metrics.Rollouts.Add(1, new KeyValuePair<string, object?>("outcome", progress.State.ToString()));
        Telemetry.PortalTelemetry.Finished("keelportal.rollout", record.TraceParent, new DateTimeOffset(record.StartedAtUtc, TimeSpan.Zero), time.GetUtcNow(),
            ("keelportal.approval.id", record.ApprovalId), ("keelportal.workload", record.WorkloadId), ("keelportal.rollout.outcome", progress.State.ToString()));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout of {Workload} {From} -> {To}: {State} ({Reason})")]
    private partial void LogFinished(string workload, string from, string to, RolloutState state, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The rollout of {Workload} generation {Generation} is already followed")]
    private partial void LogAlreadyFollowed(string workload, long generation);
}

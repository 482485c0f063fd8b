using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Updates;

/// <summary>Where a workload stands, in the order the list sorts by: what needs someone first.</summary>
public enum WorkloadStatus { SettingsError, RolloutFailed, RegistryError, WaitingForApproval, Applying, UpdateAvailable, NotChecked, UpToDate, Held, Paused, Scheduled }

/// <summary>One row of the workloads list: the workload, where it stands and why, the versions and the last rollout.</summary>
public sealed record BoardRow(
    WorkloadRow Workload,
    WorkloadStatus Status,
    string? Detail,
    string? Candidate,
    string? CandidateFrom,
    RolloutState? LastRollout,
    DateTime? LastRolloutAtUtc,
    DateTime? CheckedAtUtc)
{
    /// <summary>The status as the list says it (<c>waiting for approval (1 of 2)</c>).</summary>
    public string StatusText => Status switch
    {
        WorkloadStatus.WaitingForApproval => $"waiting for approval ({Detail})",
        _ => WorkloadBoard.Words(Status),
    };
}

/// <summary>A page of the list and how many rows match.</summary>
public sealed record BoardPage(IReadOnlyList<BoardRow> Rows, int Total);

/// <summary>
/// The workloads list with each workload's status, made from the facts the portal recorded: its settings, pending and
/// applying approvals, its last rollout and the last registry check. Filtering by status reads the filtered rows once.
/// </summary>
public sealed class WorkloadBoard(IDbContextFactory<PortalDbContext> contexts, WorkloadGrid grid, TimeProvider time)
{
    private static readonly Dictionary<WorkloadStatus, (string Slug, string Words)> Names = new()
    {
        [WorkloadStatus.SettingsError] = ("settings-error", "settings error"),
        [WorkloadStatus.RolloutFailed] = ("rollout-failed", "rollout failed"),
        [WorkloadStatus.RegistryError] = ("registry-error", "registry unreadable"),
        [WorkloadStatus.WaitingForApproval] = ("waiting", "waiting for approval"),
        [WorkloadStatus.Applying] = ("applying", "applying"),
        [WorkloadStatus.UpdateAvailable] = ("update-available", "update available"),
        [WorkloadStatus.NotChecked] = ("not-checked", "not checked yet"),
        [WorkloadStatus.UpToDate] = ("up-to-date", "up to date"),
        [WorkloadStatus.Held] = ("held", "held"),
        [WorkloadStatus.Paused] = ("paused", "paused"),
        [WorkloadStatus.Scheduled] = ("scheduled", "approved, waiting for a window"),
    };

    public static IReadOnlyList<WorkloadStatus> All { get; } = Enum.GetValues<WorkloadStatus>();

    public static string Slug(WorkloadStatus status) => Names[status].Slug;

    public static string Words(WorkloadStatus status) => Names[status].Words;

    public static WorkloadStatus? Parse(string? slug) => Names.Where(n => n.Value.Slug == slug).Select(n => (WorkloadStatus?)n.Key).FirstOrDefault();

    public async Task<BoardPage> QueryAsync(WorkloadQuery query, WorkloadStatus? status = null, CancellationToken ct = default)
    {
        if (status is null && query.SortBy != "status")
        {
            var page = await grid.QueryAsync(query, ct);
            return new BoardPage(await WithStatusAsync(page.Rows, ct), page.Total);
        }
        var all = await WithStatusAsync(await grid.AllAsync(query, ct), ct);
        IEnumerable<BoardRow> rows = status is { } wanted ? all.Where(r => r.Status == wanted) : all;
        if (query.SortBy == "status")
        {
            rows = query.Descending ? rows.OrderByDescending(r => r.Status) : rows.OrderBy(r => r.Status);
        }
        var matching = rows.ToList();
        return new BoardPage(matching.Skip(Math.Max(0, query.Page) * query.PageSize).Take(query.PageSize).ToList(), matching.Count);
    }

    /// <summary>How many workloads are in each status (the Overview's tiles).</summary>
    public async Task<IReadOnlyDictionary<WorkloadStatus, int>> CountsAsync(CancellationToken ct = default)
    {
        var all = await WithStatusAsync(await grid.AllAsync(new WorkloadQuery(), ct), ct);
        return all.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
    }

    private async Task<IReadOnlyList<BoardRow>> WithStatusAsync(IReadOnlyList<WorkloadRow> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return [];
        }
        // A page asks about its own rows; a view over every row reads the (small) open approvals, the latest rollout of
        // each workload and the checks whole, instead of sending thousands of ids to the database.
        var ids = rows.Count <= 200 ? rows.Select(r => r.Id).ToList() : null;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var open = await db.Set<Approval>().AsNoTracking()
            .Where(a => a.State == ApprovalState.Pending || a.State == ApprovalState.Approved || a.State == ApprovalState.Applying)
            .Where(a => ids == null || ids.Contains(a.WorkloadId))
            .Select(a => new { a.WorkloadId, a.State, a.CurrentVersion, a.NewVersion, a.VotesRequired, Votes = a.Votes.Count(v => v.Approve), a.ScheduledForUtc, a.ScheduleReason })
            .ToListAsync(ct);
        var rollouts = await db.Set<RolloutRecord>().AsNoTracking()
            .Where(r => ids == null || ids.Contains(r.WorkloadId))
            .Where(r => !db.Set<RolloutRecord>().Any(x => x.WorkloadId == r.WorkloadId && x.Id > r.Id))
            .Select(r => new { r.WorkloadId, r.State, r.Reason, r.StartedAtUtc, r.FinishedAtUtc })
            .ToDictionaryAsync(r => r.WorkloadId, ct);
        var checks = (await db.Set<WorkloadCheck>().AsNoTracking().Where(c => ids == null || ids.Contains(c.WorkloadId)).ToListAsync(ct))
            .ToLookup(c => c.WorkloadId);
        var now = time.GetUtcNow().UtcDateTime;
        var holds = await WorkloadHold.ActiveAt(db.Set<WorkloadHold>().AsNoTracking(), now)
            .Where(h => ids == null || ids.Contains(h.WorkloadId))
            .ToDictionaryAsync(h => h.WorkloadId, ct);
        var pendingOf = open.Where(a => a.State == ApprovalState.Pending).ToDictionary(a => a.WorkloadId);
        var applyingOf = open.Where(a => a.State != ApprovalState.Pending).GroupBy(a => a.WorkloadId).ToDictionary(g => g.Key, g => g.First());
        return rows.Select(row =>
        {
            var rollout = rollouts.GetValueOrDefault(row.Id);
            var pending = pendingOf.GetValueOrDefault(row.Id);
            var applying = applyingOf.GetValueOrDefault(row.Id);
            var checked_ = checks[row.Id].ToList();
            var failedCheck = checked_.FirstOrDefault(c => c.Error is not null);
            var bestCheck = checked_.FirstOrDefault(c => c.Best is not null);
            var best = bestCheck?.Best;
            var candidate = applying?.NewVersion ?? pending?.NewVersion ?? best;
            var from = applying?.CurrentVersion ?? pending?.CurrentVersion ?? bestCheck?.Current;
            var (status, detail) = row switch
            {
                { Error: { } error } => (WorkloadStatus.SettingsError, error),
                { Policy: "never" } => (WorkloadStatus.Paused, "policy never: no versions are looked for"),
                _ when applying is { State: ApprovalState.Approved, ScheduledForUtc: { } at } =>
                    (WorkloadStatus.Scheduled, $"{applying.NewVersion} scheduled for {at:yyyy-MM-dd HH:mm}Z: {applying.ScheduleReason}"),
                _ when applying is not null || rollout?.State == RolloutState.InProgress =>
                    (WorkloadStatus.Applying, applying is not null ? $"applying {applying.NewVersion}" : rollout!.Reason),
                _ when rollout?.State is RolloutState.Failed or RolloutState.TimedOut => (WorkloadStatus.RolloutFailed, rollout.Reason),
                _ when holds.GetValueOrDefault(row.Id) is { } hold => (WorkloadStatus.Held, Holds.Describe(hold)),
                _ when pending is not null => (WorkloadStatus.WaitingForApproval, $"{pending.Votes} of {pending.VotesRequired}"),
                _ when failedCheck is not null => (WorkloadStatus.RegistryError, failedCheck.Error),
                _ when best is not null => (WorkloadStatus.UpdateAvailable, checked_.First(c => c.Best is not null).Summary),
                _ when checked_.Count > 0 => (WorkloadStatus.UpToDate, checked_[0].Summary),
                _ => (WorkloadStatus.NotChecked, row.Trigger == "poll" ? "the first poll has not run yet" : "no webhook or poll has named one of its repositories yet"),
            };
            return new BoardRow(row, status, detail, candidate, from, rollout?.State, rollout?.FinishedAtUtc ?? rollout?.StartedAtUtc,
                checked_.Count == 0 ? null : checked_.Max(c => c.CheckedAtUtc));
        }).ToList();
    }
}
